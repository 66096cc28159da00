"""File storage: uploads through the HTTP route, URLs, metadata, deletes; local and S3."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from reactor import Engine, NotFound, ValidationError
from reactor.platform.file_storage import LocalBackend, S3Backend
from reactor.server.app import create_app
from tests.support.projects import PROJECTS

PLATFORM = PROJECTS / "platform"
BASE = "http://testserver"


@pytest.fixture
async def local_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Engine]:
    monkeypatch.delenv("REACTOR_S3_BUCKET", raising=False)
    monkeypatch.setenv("REACTOR_STORAGE_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("REACTOR_URL", BASE)
    async with Engine.open(PLATFORM, database=f"sqlite:///{tmp_path / 'data.db'}") as eng:
        yield eng


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture
async def s3_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> AsyncIterator[tuple[Engine, Any, str]]:
    bucket = f"reactor-{uuid.uuid4().hex[:12]}"
    client = s3_client(moto_endpoint)
    client.create_bucket(Bucket=bucket)
    for name, value in {
        "REACTOR_S3_BUCKET": bucket,
        "REACTOR_S3_ENDPOINT": moto_endpoint,
        "REACTOR_S3_PREFIX": "files/",
        "REACTOR_S3_ACCESS_KEY_ID": "testing",
        "REACTOR_S3_SECRET_ACCESS_KEY": "testing",
        "REACTOR_URL": BASE,
    }.items():
        monkeypatch.setenv(name, value)
    async with Engine.open(PLATFORM, database=f"sqlite:///{tmp_path / 'data.db'}") as eng:
        yield eng, client, bucket


def http(engine: Engine) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(engine)), base_url=BASE)


async def upload(engine: Engine, data: bytes, content_type: str) -> str:
    url = await engine.mutation("files:upload_url")
    assert url.startswith(f"{BASE}/api/storage/upload?token=")
    async with http(engine) as client:
        reply = await client.post(url, content=data, headers={"Content-Type": content_type})
    assert reply.status_code == 200, reply.text
    storage_id: str = reply.json()["storageId"]
    return storage_id


async def test_local_upload_url_download_and_delete(local_engine: Engine, tmp_path: Path) -> None:
    engine = local_engine
    assert isinstance(engine.storage.backend, LocalBackend)
    data = b"RIFF....WAVEfmt fake audio \x00\x01\x02"
    storage_id = await upload(engine, data, "audio/wav")
    meta = await engine.query("files:metadata", {"storage_id": storage_id})
    assert meta == {
        "storage_id": storage_id,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "content_type": "audio/wav",
    }
    # Functions keep storage ids in their documents (v.id("_storage")).
    await engine.mutation("files:attach", {"storage_id": storage_id, "name": "greeting"})
    url = await engine.query("files:url", {"storage_id": storage_id})
    assert url == f"{BASE}/api/storage/{storage_id}"
    async with http(engine) as client:
        reply = await client.get(url)
        assert reply.status_code == 200
        assert reply.content == data
        assert reply.headers["content-type"] == "audio/wav"
        assert len(list((tmp_path / "files").rglob("*"))) == 2  # one folder, one blob

        async with engine.subscribe("files:url", {"storage_id": storage_id}) as sub:
            assert await sub.next() == url
            await engine.mutation("files:delete", {"storage_id": storage_id})
            assert await asyncio.wait_for(sub.next(), 2) is None
        assert await engine.query("files:metadata", {"storage_id": storage_id}) is None
        missing = await client.get(url)
        assert missing.status_code == 404
        assert missing.json()["code"] == "NotFound"
    deadline = time.monotonic() + 2
    while any(p.is_file() for p in (tmp_path / "files").rglob("*")):
        assert time.monotonic() < deadline, "the blob was not deleted"
        await asyncio.sleep(0.02)


async def test_actions_store_and_read(local_engine: Engine) -> None:
    engine = local_engine
    storage_id = await engine.action(
        "files:store_text", {"text": "transcript", "content_type": "text/plain"}
    )
    assert await engine.action("files:read_text", {"storage_id": storage_id}) == "transcript"
    info = await engine.action("files:action_info", {"storage_id": storage_id})
    assert info["url"].endswith(storage_id)
    assert info["metadata"]["content_type"] == "text/plain"
    plain = await engine.action("files:store_text", {"text": "x"})
    assert (await engine.query("files:metadata", {"storage_id": plain}))["content_type"] == (
        "application/octet-stream"
    )
    await engine.action("files:action_delete", {"storage_id": storage_id})
    assert await engine.action("files:read_text", {"storage_id": storage_id}) is None
    with pytest.raises(NotFound, match="does not exist"):
        await engine.action("files:action_delete", {"storage_id": storage_id})


async def test_bad_content_and_ids_give_clear_errors(local_engine: Engine) -> None:
    engine = local_engine
    with pytest.raises(ValidationError, match="file content must be bytes, got str"):
        await engine.action("files:store_not_bytes")
    note = await engine.mutation("notes:add", {"call_id": "c", "text": "t"})
    for bad in ("nonsense", note):
        with pytest.raises(ValidationError, match="is not a storage id"):
            await engine.query("files:url", {"storage_id": bad})
    storage_id = await engine.action("files:store_text", {"text": "gone soon"})
    await engine.mutation("files:delete", {"storage_id": storage_id})
    assert await engine.query("files:url", {"storage_id": storage_id}) is None
    with pytest.raises(NotFound, match="does not exist"):
        await engine.mutation("files:delete", {"storage_id": storage_id})
    with pytest.raises(ValidationError, match="not available in a query"):
        await engine.query("files:upload_url_in_query")
    with pytest.raises(ValidationError, match="only available in actions"):
        await engine.mutation("files:store_in_mutation")
    async with http(engine) as client:
        reply = await client.get("/api/storage/nonsense")
        assert reply.status_code == 400
        assert reply.json()["code"] == "BadStorageId"


async def test_upload_tokens_and_limits(local_engine: Engine) -> None:
    engine = local_engine
    storage = engine.storage
    async with http(engine) as client:
        for token, code in [
            (None, "BadUploadToken"),
            ("garbage", "BadUploadToken"),
            ("1.é.ü", "BadUploadToken"),
            (storage.upload_token()[:-2] + "xx", "BadUploadToken"),
            (storage.upload_token(now=time.time() - 7200), "UploadUrlExpired"),
        ]:
            params = {} if token is None else {"token": token}
            reply = await client.post("/api/storage/upload", params=params, content=b"data")
            assert reply.status_code == 400, token
            assert reply.json()["code"] == code
        storage.max_upload_bytes = 10
        url = await engine.mutation("files:upload_url")
        reply = await client.post(url, content=b"x" * 11)
        assert reply.status_code == 413
        assert reply.json()["code"] == "FileTooLarge"
        reply = await client.post(url, content=b"x" * 10)
        assert reply.status_code == 200
        assert (await engine.query("files:metadata", {"storage_id": reply.json()["storageId"]}))[
            "content_type"
        ] == "application/octet-stream"


async def test_upload_urls_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REACTOR_S3_BUCKET", raising=False)
    monkeypatch.setenv("REACTOR_STORAGE_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("REACTOR_URL", BASE)
    url_db = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(PLATFORM, database=url_db) as engine:
        url = await engine.mutation("files:upload_url")
    async with Engine.open(PLATFORM, database=url_db) as engine, http(engine) as client:
        reply = await client.post(url, content=b"later")
        assert reply.status_code == 200, reply.text


async def test_s3_upload_presigned_url_and_delete(s3_engine: tuple[Engine, Any, str]) -> None:
    engine, client, bucket = s3_engine
    assert isinstance(engine.storage.backend, S3Backend)
    data = b"ID3 fake mp3 recording"
    storage_id = await upload(engine, data, "audio/mpeg")
    meta = await engine.query("files:metadata", {"storage_id": storage_id})
    assert meta["size"] == len(data)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("files/")
    url = await engine.query("files:url", {"storage_id": storage_id})
    assert f"/{bucket}/files/" in url
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert "X-Amz-Expires=3600" in url
    assert "X-Amz-Signature=" in url
    async with httpx.AsyncClient() as web:
        reply = await web.get(url)
    assert reply.status_code == 200
    assert reply.content == data
    assert reply.headers["content-type"] == "audio/mpeg"
    # Through reactor as well, and from an action.
    async with http(engine) as web:
        proxied = await web.get(f"/api/storage/{storage_id}")
    assert proxied.content == data
    stored = await engine.action("files:store_text", {"text": "from an action"})
    assert await engine.action("files:read_text", {"storage_id": stored}) == "from an action"
    await engine.mutation("files:delete", {"storage_id": storage_id})
    deadline = time.monotonic() + 3
    while True:
        left = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        if len(left) == 1:
            break
        assert time.monotonic() < deadline, "the S3 object was not deleted"
        await asyncio.sleep(0.05)
    assert await engine.query("files:url", {"storage_id": storage_id}) is None


async def test_urls_follow_the_serving_address_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REACTOR_S3_BUCKET", raising=False)
    monkeypatch.delenv("REACTOR_URL", raising=False)
    monkeypatch.setenv("REACTOR_STORAGE_DIR", str(tmp_path / "files"))
    async with Engine.open(PLATFORM, database=f"sqlite:///{tmp_path / 'data.db'}") as engine:
        storage_id = await engine.action("files:store_text", {"text": "x"})
        assert (await engine.query("files:url", {"storage_id": storage_id})).startswith(
            "http://127.0.0.1:3210/api/storage/"
        )
        engine.serving_at("0.0.0.0", 4000)
        assert (await engine.query("files:url", {"storage_id": storage_id})).startswith(
            "http://127.0.0.1:4000/api/storage/"
        )
        engine.storage.base_url_configured = True  # as when REACTOR_URL is set (white-box)
        engine.serving_at("127.0.0.1", 5000)
        assert engine.storage.base_url == "http://127.0.0.1:4000"
