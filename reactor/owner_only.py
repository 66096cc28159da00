"""Files and folders only their owner may read: reactor's data, keys and stored files.

The database holds every environment variable and the upload-signing secret, and stored
files may be private, so whatever reactor creates under ``.reactor/`` (or wherever the
data lives) is created with mode 0700 (folders) or 0600 (files) whatever the umask.
Folders that already exist are left as they are: they may be shared on purpose.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["DIR_MODE", "FILE_MODE", "make_dirs", "open_new", "tighten", "write_text"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_dirs(path: str | Path) -> None:
    """Create ``path`` and any missing parents, each owner-only."""
    missing: list[Path] = []
    folder = Path(path).absolute()
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for item in reversed(missing):
        with contextlib.suppress(FileExistsError):
            item.mkdir(mode=DIR_MODE)
            # mkdir's mode is filtered by the umask; make sure the result is exact.
            os.chmod(item, DIR_MODE)


def open_new(path: str | Path, *, exclusive: bool = False) -> int:
    """Open ``path`` for writing, created owner-only if missing (a file descriptor)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_EXCL if exclusive else 0)
    return os.open(path, flags, FILE_MODE)


def write_text(path: str | Path, text: str) -> None:
    """Write a small text file (created owner-only, its mode tightened if it existed)."""
    fd = open_new(path)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    tighten(path)


def tighten(*paths: str | Path) -> None:
    """Remove group and other permissions from existing files this user owns."""
    for path in paths:
        with contextlib.suppress(OSError):
            st = os.stat(path)
            if st.st_uid == os.geteuid() and st.st_mode & 0o077:
                os.chmod(path, st.st_mode & 0o700)
