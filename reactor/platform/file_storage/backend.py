"""Where stored files' bytes live: the :class:`StorageBackend` protocol.

A backend maps a key (an alphanumeric string chosen by the file storage service) to
bytes. Its methods block, so they are called from worker threads; ``put`` and
``put_file`` replace the blob whole (a reader never sees half a file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class StorageBackend(Protocol):
    """Where blobs live. Methods block (they are called from worker threads)."""

    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        """Store the contents of a (spooled) file, without reading it into memory."""
        ...

    def get(self, key: str) -> bytes | None: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str, content_type: str) -> str | None:
        """A direct download URL, or None to serve the bytes through reactor."""
        ...
