"""Converters from other tools' checkpoint formats to MLX model folders.

Each module offers looks_like(path) and convert(src, dest, progress=...), and
raises ImportFormatError for input it cannot read. engine/importing.py picks one.
"""
