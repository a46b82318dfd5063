"""Output files that appear whole or not at all.

A crash, Ctrl-C or a bad model halfway through must never leave a truncated file
or clobber the user's existing one, so everything is written to a temporary file
beside the target and renamed over it at the end (write_new links it instead,
so that it never replaces anything).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import AudioError


def check_writable(path) -> Path:
    """Fail before any work is done when the output cannot be written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise AudioError(f"Output path is a directory: {path}")
    if not parent.is_dir():
        raise AudioError(f"Output directory does not exist: {parent}")
    if path.exists() and not os.access(path, os.W_OK):
        raise AudioError(f"Cannot overwrite {path}: permission denied")
    # Actually try: permissions bits say nothing about read-only mounts, or for root.
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
    except OSError as e:
        raise AudioError(f"Cannot write to {parent}: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextlib.contextmanager
def atomic_output(path, mode: int | None = None):
    """Yield a binary file object; on success it replaces path, on error it vanishes.

    mode (e.g. 0o600 for a file holding a token) is set before the file appears."""
    path = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, _new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomically(path, data: bytes, mode: int | None = None) -> Path:
    with atomic_output(path, mode=mode) as f:
        f.write(data)
    return Path(path)


def write_new(path, data: bytes) -> Path:
    """Create path holding data, whole, and never replace a file that is already there.

    For output a model asked for: a check then a rename would still overwrite a file
    created in between, but a hard link to the finished temporary file fails when
    anything, even a dangling symlink, holds the name. Where the filesystem has no hard
    links, an exclusive create (O_EXCL) does the same, without the atomicity.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _new_file_mode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise AudioError(f"{path} already exists") from None
        except OSError:  # no hard links here (FAT, some network and FUSE mounts)
            _create_exclusively(path, data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _create_exclusively(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise AudioError(f"{path} already exists") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(path)
        raise


def _new_file_mode() -> int:
    """What a plain open() would give a new file: 0o666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def remove_tree(target, owner) -> None:
    """Delete the folder target, which must sit strictly inside the folder owner.

    Every tree this plugin deletes is one it made inside a folder it owns. A name
    that came from a user or a file (``..``, ``.``, a symlink out) must never turn
    that into llm's whole user directory: anything else is refused, not deleted.
    """
    target_path = Path(target)
    owner_path = Path(owner).resolve()
    resolved = target_path.parent.resolve() / target_path.name
    if target_path.is_symlink() or resolved.resolve() != resolved:
        raise AudioError(f"Refusing to delete {target_path}: it is a link, not a folder of ours")
    if owner_path not in resolved.parents or target_path.name in ("", ".", ".."):
        raise AudioError(f"Refusing to delete {target_path}: it is not inside {owner_path}")
    shutil.rmtree(resolved)
