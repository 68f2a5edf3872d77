"""Files and folders only their owner may read: the SQLite stores, the views,
the blob store and the generated secret hold customers' data and credentials.

Modes are set when a file or folder is created, whatever the process's umask
(a umask can only take bits away from the mode given to `open` and `mkdir`, and
an operator's umask of 000 would otherwise make them world-readable).  What
exists already is left alone: an operator may have chosen its mode.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dirs(path: Path) -> None:
    """Create `path` and each missing parent with mode 0700."""
    missing: list[Path] = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():  # say so about the folder, not about a file we would make in it
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it at the same moment, with the same mode
        folder.chmod(DIR_MODE)


def create_private_file(path: Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists; True when created.
    O_EXCL: the mode is right from the first moment, never write-then-chmod."""
    private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return True


def publish_private_file(path: Path, text: str) -> bool:
    """Write `text` to `path` with mode 0600 unless the file exists; True when
    this call wrote it.  The text goes to a temporary file (mkstemp: O_CREAT |
    O_EXCL, mode 0600) that is then linked into place, so a process starting at
    the same moment finds either no file or the whole text, never an empty one;
    the first to link wins and the other's text is discarded."""
    private_dirs(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)
