"""File storage: blobs in a local folder or S3, metadata in the ``_storage`` system table.

A stored file is a ``_storage`` document ``{"sha256", "size", "content_type", "key"}``;
its document id is the *storage id* functions keep in their own documents. The bytes
live in a backend under ``key``:

- :class:`LocalBackend` (default): ``<project>/.reactor/files`` (``REACTOR_STORAGE_DIR``
  overrides). URLs point at the server's ``GET /api/storage/{storage_id}`` route.
- :class:`S3Backend` (boto3, ``pip install reactor[s3]``): selected when
  ``REACTOR_S3_BUCKET`` is set; ``REACTOR_S3_ENDPOINT``, ``REACTOR_S3_PREFIX``,
  ``REACTOR_S3_REGION``, ``REACTOR_S3_ACCESS_KEY_ID``, ``REACTOR_S3_SECRET_ACCESS_KEY``
  configure it. URLs are presigned SigV4 GET URLs that expire.

``ctx.storage`` by function kind:

- queries: ``get_url(id)``, ``get_metadata(id)`` (reactive: they read the document);
- mutations: also ``delete(id)`` (the blob is removed after the commit) and
  ``generate_upload_url()``: a signed, expiring URL a client POSTs the bytes to, which
  answers ``{"storageId": ...}``;
- actions: ``await store(data, content_type)``, ``await get(id)`` (the bytes), and
  awaitable versions of the others.

An upload writes the blob first and the metadata document second, so a storage id never
names missing bytes; a crash in between leaves an unreferenced blob, never a broken id.

The package: :mod:`~.backend` (the protocol), :mod:`~.local` and :mod:`~.s3` (the two
backends), :mod:`~.storage` (the service and the ``ctx.storage`` facades).
"""

from reactor.platform.file_storage.backend import StorageBackend
from reactor.platform.file_storage.local import LocalBackend
from reactor.platform.file_storage.s3 import S3Backend
from reactor.platform.file_storage.storage import (
    STORAGE_TABLE,
    AsyncStorage,
    BadUploadToken,
    FileStorage,
    StorageReader,
    StorageWriter,
    StoredFile,
    UploadError,
    UploadUrlExpired,
)

__all__ = [
    "STORAGE_TABLE",
    "AsyncStorage",
    "BadUploadToken",
    "FileStorage",
    "LocalBackend",
    "S3Backend",
    "StorageBackend",
    "StorageReader",
    "StorageWriter",
    "StoredFile",
    "UploadError",
    "UploadUrlExpired",
]
