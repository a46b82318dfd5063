"""engine.patches"""
