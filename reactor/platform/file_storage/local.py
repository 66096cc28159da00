"""The local backend: blobs as owner-only files under a folder.

A blob is written to a temporary name, synced, then renamed, so a key names either the
whole old blob or the whole new one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from reactor.errors import ValidationError
from reactor.owner_only import make_dirs, open_new


class LocalBackend:
    """Blobs as files under a folder (``<root>/<key[:2]>/<key>``)."""

    name = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key or not key.isalnum():
            raise ValidationError(f"invalid storage key {key!r}")
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        make_dirs(path.parent)
        tmp = path.with_name(path.name + ".tmp")
        with os.fdopen(open_new(tmp), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @property
    def spool_dir(self) -> Path:
        """Where uploads are spooled: beside the blobs (the same file system, so storing
        one is a rename) but not among them."""
        folder = self.root.with_name(self.root.name + ".uploading")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if source.parent.parent == self.spool_dir:  # spooled here: sync, then rename
            with open(source, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(source, path)
            return
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str, content_type: str) -> str | None:
        return None
