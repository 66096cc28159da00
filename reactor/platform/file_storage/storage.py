"""The file storage service: upload tokens, limits, the ``_storage`` table, ``ctx.storage``.

See :mod:`reactor.platform.file_storage` for the model. An upload writes the blob first
and the metadata document second, so a storage id never names missing bytes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactor.database.transaction import Transaction
from reactor.errors import LimitExceeded, NotFound, ReactorError, ValidationError
from reactor.platform.file_storage.backend import StorageBackend
from reactor.platform.file_storage.local import LocalBackend
from reactor.platform.file_storage.s3 import S3Backend
from reactor.runtime.context import ActionCtx, MutationCtx, QueryCtx
from reactor.types import Clock, system_clock

if TYPE_CHECKING:
    from reactor.database.database import Database

logger = logging.getLogger("reactor.storage")

STORAGE_TABLE = "_storage"
DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
DEFAULT_UPLOAD_URL_TTL = 3600.0
DEFAULT_CONTENT_TYPE = "application/octet-stream"
SECRET_GLOBAL = "storage_secret"


class UploadError(ReactorError):
    """An upload was refused (the server answers it with an HTTP status, see server/files.py)."""

    code = "BadUpload"


class BadUploadToken(UploadError):
    """The upload token is missing, malformed or not signed by this deployment."""

    code = "BadUploadToken"


class UploadUrlExpired(UploadError):
    """The upload URL has expired; the client should ask for a new one."""

    code = "UploadUrlExpired"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file's metadata document."""

    storage_id: str
    sha256: str
    size: int
    content_type: str
    key: str

    def metadata(self) -> dict[str, Any]:
        return {
            "storage_id": self.storage_id,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
        }


def _check_id(txn: Transaction, storage_id: object) -> str:
    if not isinstance(storage_id, str):
        raise ValidationError(f"a storage id must be a string, got {type(storage_id).__name__}")
    try:
        table = txn.table_of_id(storage_id)
    except ValidationError:
        raise ValidationError(f"{storage_id!r} is not a storage id") from None
    if table is None or table.name != STORAGE_TABLE:
        raise ValidationError(f"{storage_id!r} is not a storage id (it is not a _storage id)")
    return storage_id


def _lookup(txn: Transaction, storage_id: object) -> StoredFile | None:
    doc_id = _check_id(txn, storage_id)
    doc = txn.get(doc_id)
    if doc is None:
        return None
    return StoredFile(
        doc_id, str(doc["sha256"]), int(doc["size"]), str(doc["content_type"]), str(doc["key"])
    )


class FileStorage:
    """The file storage of one engine: a backend, upload tokens and limits."""

    def __init__(
        self,
        db: Database,
        backend: StorageBackend,
        *,
        base_url: str = "http://127.0.0.1:3210",
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        upload_url_ttl: float = DEFAULT_UPLOAD_URL_TTL,
        secret: bytes | None = None,
    ) -> None:
        self.db = db
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.base_url_configured = False  # True when REACTOR_URL named the origin
        self.max_upload_bytes = max_upload_bytes
        self.upload_url_ttl = upload_url_ttl
        self._secret = secret
        self.clock: Clock = system_clock  # upload URLs expire by it (the engine's clock)

    @classmethod
    def from_env(
        cls, db: Database, project_root: Path, environ: Mapping[str, str] | None = None
    ) -> FileStorage:
        """Local folder storage by default; S3 when ``REACTOR_S3_BUCKET`` is set."""
        env = os.environ if environ is None else environ
        backend: StorageBackend
        if env.get("REACTOR_S3_BUCKET"):
            backend = S3Backend.from_env(env)
        else:
            folder = env.get("REACTOR_STORAGE_DIR") or project_root / ".reactor" / "files"
            backend = LocalBackend(folder)
        secret = env.get("REACTOR_STORAGE_SECRET")
        storage = cls(
            db,
            backend,
            base_url=env.get("REACTOR_URL") or "http://127.0.0.1:3210",
            max_upload_bytes=int(env.get("REACTOR_STORAGE_MAX_BYTES", DEFAULT_MAX_UPLOAD_BYTES)),
            secret=secret.encode() if secret else None,
        )
        storage.base_url_configured = bool(env.get("REACTOR_URL"))
        return storage

    def serving_at(self, host: str, port: int) -> None:
        """Tell storage where the server listens (URLs use it unless REACTOR_URL is set)."""
        if self.base_url_configured:
            return
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        self.base_url = f"http://{host}:{port}"

    # -- ctx ------------------------------------------------------------------------------

    def for_query(self, txn: Transaction) -> StorageReader:
        return StorageReader(self, txn)

    def for_mutation(
        self, txn: Transaction, after_commit: list[Callable[[], None]]
    ) -> StorageWriter:
        return StorageWriter(self, txn, after_commit)

    def for_action(self) -> AsyncStorage:
        return AsyncStorage(self)

    # ContextService: ctx.storage in every function.
    def attach_query(self, ctx: QueryCtx, txn: Transaction) -> None:
        ctx.storage = self.for_query(txn)

    def attach_mutation(
        self, ctx: MutationCtx, txn: Transaction, after_commit: list[Callable[[], None]]
    ) -> None:
        ctx.storage = self.for_mutation(txn, after_commit)

    def attach_action(self, ctx: ActionCtx) -> None:
        ctx.storage = self.for_action()

    # -- URLs and upload tokens -----------------------------------------------------------

    def url_for(self, stored: StoredFile) -> str:
        direct = self.backend.url(stored.key, stored.content_type)
        return direct if direct is not None else f"{self.base_url}/api/storage/{stored.storage_id}"

    def _signing_key(self) -> bytes:
        if self._secret is None:
            saved = self.db.persistence.get_global(SECRET_GLOBAL)
            if isinstance(saved, str) and saved:
                self._secret = saved.encode()
            else:
                fresh = secrets.token_urlsafe(32)
                self._secret = fresh.encode()
                # Persisted with the next commit (the mutation generating the URL).
                self.db.set_dirty_global(SECRET_GLOBAL, fresh)
        return self._secret

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._signing_key(), payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")

    def upload_token(self, now: float | None = None) -> str:
        """A signed token valid for :attr:`upload_url_ttl` seconds."""
        expires = int((self.clock() if now is None else now) + self.upload_url_ttl)
        payload = f"{expires}.{secrets.token_urlsafe(9)}"
        return f"{payload}.{self._sign(payload)}"

    def upload_url(self) -> str:
        return f"{self.base_url}/api/storage/upload?token={self.upload_token()}"

    def check_upload_token(self, token: object, now: float | None = None) -> None:
        """UploadError unless ``token`` is one of ours and has not expired."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise BadUploadToken("missing or malformed upload token")
        payload, _, signature = token.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            raise BadUploadToken("invalid upload token (bad signature)")
        expires = int(payload.split(".", 1)[0])
        if (self.clock() if now is None else now) > expires:
            raise UploadUrlExpired("this upload URL has expired; generate a new one")

    # -- storing and reading (blocking backend calls run in worker threads) ---------------

    def check_content(self, data: object, content_type: object) -> tuple[bytes, str]:
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise ValidationError(f"file content must be bytes, got {type(data).__name__}")
        if content_type is None:
            content_type = DEFAULT_CONTENT_TYPE
        if not isinstance(content_type, str) or not content_type or len(content_type) > 255:
            raise ValidationError(f"invalid content type {content_type!r}")
        if len(data) > self.max_upload_bytes:
            raise LimitExceeded(
                f"file of {len(data)} bytes is larger than the limit of "
                f"{self.max_upload_bytes} bytes"
            )
        return data, content_type

    async def store(self, data: object, content_type: object = None) -> str:
        """Store bytes; returns the new storage id."""
        blob, ctype = self.check_content(data, content_type)
        key = uuid.uuid4().hex
        sha256 = hashlib.sha256(blob).hexdigest()
        await asyncio.to_thread(self.backend.put, key, blob, ctype)
        doc = {"sha256": sha256, "size": len(blob), "content_type": ctype, "key": key}
        try:
            storage_id: str = await self.db.write(
                lambda txn: txn.insert(STORAGE_TABLE, doc, system=True)
            )
        except BaseException:
            await asyncio.to_thread(self.backend.delete, key)
            raise
        return storage_id

    async def store_stream(self, chunks: AsyncIterator[bytes], content_type: object = None) -> str:
        """Store an upload as it arrives: spooled to a temporary file, never all in memory.

        Raises :class:`LimitExceeded` as soon as it grows past :attr:`max_upload_bytes`.
        """
        _, ctype = self.check_content(b"", content_type)
        digest = hashlib.sha256()
        size = 0
        spool = await asyncio.to_thread(lambda: getattr(self.backend, "spool_dir", None))
        with tempfile.TemporaryDirectory(prefix="reactor-upload-", dir=spool) as folder:
            spooled = Path(folder) / "upload"
            fd = os.open(spooled, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_upload_bytes:
                        raise LimitExceeded(
                            f"the file is larger than the limit of {self.max_upload_bytes} bytes"
                        )
                    digest.update(chunk)
                    out.write(chunk)
            key = uuid.uuid4().hex
            await asyncio.to_thread(self.backend.put_file, key, spooled, ctype)
        doc = {"sha256": digest.hexdigest(), "size": size, "content_type": ctype, "key": key}
        try:
            storage_id: str = await self.db.write(
                lambda txn: txn.insert(STORAGE_TABLE, doc, system=True)
            )
        except BaseException:
            await asyncio.to_thread(self.backend.delete, key)
            raise
        return storage_id

    def lookup(self, storage_id: object) -> StoredFile | None:
        """The published metadata of a file, or None."""
        return _lookup(self.db.begin_read(), storage_id)

    async def read(self, storage_id: object) -> tuple[StoredFile, bytes] | None:
        """A file's metadata and bytes, or None when it does not exist."""
        stored = self.lookup(storage_id)
        if stored is None:
            return None
        data = await asyncio.to_thread(self.backend.get, stored.key)
        if data is None:
            return None
        return stored, data

    def remove_blob_later(self, key: str) -> None:
        """Delete a blob in the background (after its document's deletion committed)."""

        async def remove() -> None:
            try:
                await asyncio.to_thread(self.backend.delete, key)
            except Exception:
                logger.exception("could not delete blob %s", key)

        asyncio.get_running_loop().create_task(remove())


class StorageReader:
    """``ctx.storage`` in a query."""

    def __init__(self, storage: FileStorage, txn: Transaction) -> None:
        self._storage = storage
        self._txn = txn

    def get_url(self, storage_id: str) -> str | None:
        """A URL serving the file, or None if there is no such file."""
        stored = _lookup(self._txn, storage_id)
        return None if stored is None else self._storage.url_for(stored)

    def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        """``{"storage_id", "sha256", "size", "content_type"}`` or None."""
        stored = _lookup(self._txn, storage_id)
        return None if stored is None else stored.metadata()

    def delete(self, storage_id: str) -> None:
        raise ValidationError("ctx.storage.delete is not available in a query (read-only)")

    def generate_upload_url(self) -> str:
        raise ValidationError(
            "ctx.storage.generate_upload_url is not available in a query; call it in a mutation"
        )

    def store(self, data: bytes, content_type: str | None = None) -> str:
        raise ValidationError(
            "ctx.storage.store is only available in actions; from a client, upload to "
            "ctx.storage.generate_upload_url()"
        )

    def get(self, storage_id: str) -> bytes | None:
        raise ValidationError(
            "ctx.storage.get (the bytes) is only available in actions; use get_url", ""
        )


class StorageWriter(StorageReader):
    """``ctx.storage`` in a mutation."""

    def __init__(
        self, storage: FileStorage, txn: Transaction, after_commit: list[Callable[[], None]]
    ) -> None:
        super().__init__(storage, txn)
        self._after_commit = after_commit

    def delete(self, storage_id: str) -> None:
        """Delete a file: its metadata now, its bytes once the mutation commits."""
        stored = _lookup(self._txn, storage_id)
        if stored is None:
            raise NotFound(f"cannot delete file {storage_id!r}: it does not exist")
        self._txn.delete(stored.storage_id, system=True)
        key = stored.key
        self._after_commit.append(lambda: self._storage.remove_blob_later(key))

    def generate_upload_url(self) -> str:
        """A signed URL (valid for an hour) that accepts one file by ``POST``."""
        return self._storage.upload_url()


class AsyncStorage:
    """``ctx.storage`` in an action: every method is awaited."""

    def __init__(self, storage: FileStorage) -> None:
        self._storage = storage

    async def store(self, data: bytes, content_type: str | None = None) -> str:
        """Store bytes; returns the storage id."""
        return await self._storage.store(data, content_type)

    async def get(self, storage_id: str) -> bytes | None:
        """The file's bytes, or None."""
        found = await self._storage.read(storage_id)
        return None if found is None else found[1]

    async def get_url(self, storage_id: str) -> str | None:
        stored = self._storage.lookup(storage_id)
        return None if stored is None else self._storage.url_for(stored)

    async def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        stored = self._storage.lookup(storage_id)
        return None if stored is None else stored.metadata()

    async def delete(self, storage_id: str) -> None:
        """Delete a file (NotFound if it does not exist)."""
        storage = self._storage

        def body(txn: Transaction) -> str:
            stored = _lookup(txn, storage_id)
            if stored is None:
                raise NotFound(f"cannot delete file {storage_id!r}: it does not exist")
            txn.delete(stored.storage_id, system=True)
            return stored.key

        key: str = await storage.db.write(body)
        await asyncio.to_thread(storage.backend.delete, key)

    async def generate_upload_url(self) -> str:
        return self._storage.upload_url()
