"""Call recordings: fetched from Twilio, kept in S3 (or reactor file storage), played back
through short-lived URLs.

Flow (each step an outbox command, retried with backoff): Twilio's recording callback →
``media:on_recording`` (links the recording to its call and customer; ``recording.fetch``)
→ ``media:fetch_recording`` (downloads the audio with HTTP basic auth, stores it, records
size, sha256 and where it is; ``transcript.create``) → ``ai/transcribe:recording``.

Storage, chosen by ``ctx.env``:

- ``RECORDINGS_BUCKET`` set: S3 through boto3, key
  ``recordings/<yyyy>/<mm>/<dd>/<CallSid>/<RecordingSid>.mp3``, written with
  ``IfNoneMatch="*"`` so a retried fetch never overwrites (a 412 means it is already
  there; its size and sha256 are checked instead). Settings: ``RECORDINGS_S3_ENDPOINT``,
  ``RECORDINGS_S3_REGION`` (default ``us-east-1``), ``RECORDINGS_S3_ACCESS_KEY_ID`` /
  ``RECORDINGS_S3_SECRET_ACCESS_KEY`` (default: boto3's usual credential lookup),
  ``RECORDINGS_URL_TTL_S`` (playback URL lifetime, default 900, at most 3600).
- absent: reactor's own file storage (``ctx.storage``).

Download credentials: ``TWILIO_API_KEY_SID`` / ``TWILIO_API_KEY_SECRET`` (or
``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN``); they are sent over HTTPS only (plain
HTTP only to a loopback host, for tests). ``RECORDINGS_MAX_BYTES`` bounds a download
(default 200 MB).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from reactor import (
    ActionCtx,
    MutationCtx,
    QueryCtx,
    UserError,
    action,
    internal_action,
    internal_mutation,
    internal_query,
    v,
)

from . import recordings
from .lib import access, outbox
from .lib.auth import identity

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_URL_TTL_S = 900
MAX_URL_TTL_S = 3600
DOWNLOAD_TIMEOUT_S = 60
AUDIO_EXTENSIONS = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


class FetchFailed(Exception):
    """The recording could not be downloaded or stored (retryable by the caller)."""


# -- database side --------------------------------------------------------------------


@internal_mutation(
    args={
        "call_sid": v.string(),
        "recording_sid": v.string(),
        "recording_url": v.string(),
        "duration_s": v.number(),
        "channels": v.optional(v.number()),
    }
)
def on_recording(
    ctx: MutationCtx,
    call_sid: str,
    recording_sid: str,
    recording_url: str,
    duration_s: float,
    channels: float | None = None,
) -> Any:
    """Twilio says a recording is complete: link it and schedule the fetch (idempotent)."""
    rec_id = recordings.attach.handler(
        ctx,
        call_sid=call_sid,
        recording_sid=recording_sid,
        duration_s=duration_s,
        url=recording_url,
    )
    if rec_id is None:
        raise UserError({"code": "call_not_found", "call_sid": call_sid})
    rec = ctx.db.get(rec_id)
    assert rec is not None  # just inserted or found in this transaction
    fields: dict[str, Any] = {} if rec["url"] else {"url": recording_url}
    if channels is not None:
        fields["channels"] = channels
    if rec.get("sha256") is not None:
        fields["status"] = "stored"  # a replayed callback changes nothing
    if fields:
        ctx.db.patch(rec_id, fields)
    if rec.get("sha256") is None:
        # The same key as recordings:attach's: one fetch command per recording.
        outbox.enqueue(
            ctx,
            "recording.fetch",
            call_id=rec["call_id"],
            args={"recording_id": rec_id, "recording_sid": recording_sid, "url": recording_url},
            idempotency_key=f"recording.fetch:{recording_sid}",
        )
    return rec_id


@internal_query(args={"recording_id": v.id("recordings")})
def recording_for_fetch(ctx: QueryCtx, recording_id: str) -> Any:
    rec = ctx.db.get(recording_id)
    if rec is None:
        return None
    call = ctx.db.get(rec["call_id"])
    return {**rec, "call_sid": call["call_sid"] if call else None}


@internal_mutation(
    args={
        "recording_id": v.id("recordings"),
        "storage": v.union(v.literal("s3"), v.literal("files")),
        "bucket": v.optional(v.string()),
        "key": v.optional(v.string()),
        "storage_id": v.optional(v.string()),
        "size_bytes": v.number(),
        "sha256": v.string(),
        "content_type": v.string(),
    }
)
def recording_stored(
    ctx: MutationCtx,
    recording_id: str,
    storage: str,
    size_bytes: float,
    sha256: str,
    content_type: str,
    bucket: str | None = None,
    key: str | None = None,
    storage_id: str | None = None,
) -> Any:
    """Record where the audio is; schedule its transcription once. Returns whether this
    call stored it (``False``: an earlier fetch already had)."""
    rec = ctx.db.get(recording_id)
    if rec is None:
        return False
    if rec.get("sha256") is not None:
        return False
    fields: dict[str, Any] = {
        "storage": storage,
        "size_bytes": size_bytes,
        "sha256": sha256,
        "content_type": content_type,
        "stored_at": ctx.now,
        "status": "stored",
    }
    if storage == "s3":
        fields.update(bucket=bucket, storage_key=key)
    else:
        fields["storage_id"] = storage_id
    ctx.db.patch(recording_id, fields)
    outbox.enqueue(
        ctx,
        "transcript.create",
        call_id=rec["call_id"],
        args={"recording_id": recording_id},
        idempotency_key=f"transcript.create:{recording_id}",
    )
    return True


@internal_query(args={"recording_id": v.id("recordings")})
def playback_target(ctx: QueryCtx, recording_id: str) -> Any:
    """The stored recording and who may play it besides supervisors: the agents who
    handled the call (``lib/access``) and, for a voicemail, its assignee."""
    rec = ctx.db.get(recording_id)
    if rec is None:
        return None
    call = ctx.db.get(rec["call_id"])
    agents = set(access.handled_by(call)) if call is not None else set()
    vm = (
        ctx.db.query("voicemails")
        .with_index("by_call", lambda q: q.eq("call_id", rec["call_id"]))
        .first()
    )
    if vm is not None and vm["recording_id"] == recording_id and vm["assigned_to"]:
        agents.add(vm["assigned_to"])
    return {"recording": rec, "agents": sorted(agents)}


# -- settings -------------------------------------------------------------------------


def _int_setting(env: dict[str, str], name: str, default: int, high: int) -> int:
    try:
        value = int(env.get(name) or default)
    except ValueError:
        value = default
    return min(max(value, 1), high)


def s3_client(env: dict[str, str]) -> Any:
    """A boto3 S3 client from the ``RECORDINGS_S3_*`` settings (SigV4, path style)."""
    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {
        "region_name": env.get("RECORDINGS_S3_REGION") or "us-east-1",
        "config": Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 2},
            connect_timeout=10,
            read_timeout=60,
        ),
    }
    if env.get("RECORDINGS_S3_ENDPOINT"):
        kwargs["endpoint_url"] = env["RECORDINGS_S3_ENDPOINT"]
    if env.get("RECORDINGS_S3_ACCESS_KEY_ID"):
        kwargs["aws_access_key_id"] = env["RECORDINGS_S3_ACCESS_KEY_ID"]
        kwargs["aws_secret_access_key"] = env.get("RECORDINGS_S3_SECRET_ACCESS_KEY", "")
    return boto3.client("s3", **kwargs)


def _credentials(env: dict[str, str]) -> tuple[str, str] | None:
    for user, secret in (
        ("TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET"),
        ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
    ):
        if env.get(user) and env.get(secret):
            return env[user], env[secret]
    return None


# -- downloading ----------------------------------------------------------------------


def media_url(url: str) -> tuple[str, str]:
    """The URL to download (``.mp3`` appended to Twilio's extension-less RecordingUrl)
    and its content type."""
    path = urllib.parse.urlsplit(url).path.lower()
    for ext, ctype in AUDIO_EXTENSIONS.items():
        if path.endswith(ext):
            return url, ctype
    return url + ".mp3", "audio/mpeg"


def _may_send_credentials(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or parts.hostname is None:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def download(url: str, credentials: tuple[str, str] | None, max_bytes: int) -> bytes:
    """GET ``url`` with basic auth, at most ``max_bytes`` (blocking; run in a thread)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FetchFailed(f"recording URL must be http(s), not {url[:40]!r}")
    request = urllib.request.Request(url, headers={"Accept": "audio/*"})
    if credentials is not None:
        if not _may_send_credentials(url):
            raise FetchFailed("refusing to send Twilio credentials over plain HTTP")
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error holds the response's socket
        raise FetchFailed(f"recording download answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise FetchFailed(f"recording download failed: {type(exc).__name__}") from None
    if len(data) > max_bytes:
        raise FetchFailed(f"recording is over RECORDINGS_MAX_BYTES ({max_bytes} bytes)")
    if not data:
        raise FetchFailed("recording download returned no bytes")
    return bytes(data)


def object_key(rec: dict[str, Any], call_sid: str | None, ext: str) -> str:
    day = dt.datetime.fromtimestamp(rec["_creation_time"] / 1000, dt.UTC)
    folder = call_sid or str(rec["call_id"])
    return f"recordings/{day:%Y/%m/%d}/{folder}/{rec['recording_sid']}{ext}"


def put_if_absent(
    client: Any, bucket: str, key: str, data: bytes, content_type: str, meta: dict[str, str]
) -> bool:
    """Upload unless the key exists (conditional PUT); returns whether this call wrote it.

    An existing object must hold the same bytes (its sha256 metadata and size match),
    otherwise :class:`FetchFailed`: a key is never silently reused for other audio.
    """
    from botocore.exceptions import ClientError

    try:
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata=meta,
            IfNoneMatch="*",
        )
        return True
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code not in ("PreconditionFailed", "412") and status != 412:
            raise FetchFailed(f"S3 put_object failed: {code or status}") from None
    head = client.head_object(Bucket=bucket, Key=key)
    same = head.get("ContentLength") == len(data) and head.get("Metadata", {}).get(
        "sha256"
    ) == meta.get("sha256")
    if not same:
        raise FetchFailed(f"S3 object {key} exists with different content")
    return False


# -- actions --------------------------------------------------------------------------


@internal_action(args={"recording_id": v.id("recordings")})
async def fetch_recording(ctx: ActionCtx, recording_id: str) -> Any:
    """Download a recording and store it (S3 or file storage); idempotent."""
    rec = await ctx.run_query("media:recording_for_fetch", {"recording_id": recording_id})
    if rec is None:
        raise UserError({"code": "recording_not_found", "recording_id": recording_id})
    if rec.get("sha256") is not None:
        return {"stored": False, "reason": "already stored"}
    if not rec.get("url"):
        raise UserError({"code": "recording_has_no_url", "recording_id": recording_id})
    url, content_type = media_url(rec["url"])
    max_bytes = _int_setting(ctx.env, "RECORDINGS_MAX_BYTES", DEFAULT_MAX_BYTES, 2**31)
    data = await asyncio.to_thread(download, url, _credentials(ctx.env), max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    result: dict[str, Any] = {
        "recording_id": recording_id,
        "size_bytes": len(data),
        "sha256": sha256,
        "content_type": content_type,
    }
    bucket = ctx.env.get("RECORDINGS_BUCKET")
    if bucket:
        ext = ".wav" if content_type == "audio/wav" else ".mp3"
        key = object_key(rec, rec.get("call_sid"), ext)
        meta = {
            "sha256": sha256,
            "recording-sid": rec["recording_sid"],
            "call-sid": rec.get("call_sid") or "",
            "customer-id": rec.get("customer_id") or "",
        }
        client = s3_client(ctx.env)
        await asyncio.to_thread(put_if_absent, client, bucket, key, data, content_type, meta)
        result.update(storage="s3", bucket=bucket, key=key)
    else:
        result.update(storage="files", storage_id=await ctx.storage.store(data, content_type))
    stored = await ctx.run_mutation("media:recording_stored", result)
    if not stored and result["storage"] == "files":
        # A concurrent fetch stored it first: drop this copy rather than leak it.
        await ctx.storage.delete(result["storage_id"])
    return {"stored": stored, "size_bytes": len(data), "sha256": sha256}


async def recording_bytes(ctx: ActionCtx, rec: dict[str, Any]) -> bytes:
    """The stored audio of a recording (S3 or file storage)."""
    if rec.get("storage") == "s3":
        client = s3_client(ctx.env)

        def get() -> bytes:
            body = client.get_object(Bucket=rec["bucket"], Key=rec["storage_key"])["Body"]
            return bytes(body.read())

        return await asyncio.to_thread(get)
    if rec.get("storage") == "files":
        data = await ctx.storage.get(rec["storage_id"])
        if data is None:
            raise FetchFailed(f"file {rec['storage_id']} of recording is missing")
        return bytes(data)
    raise FetchFailed("the recording has not been stored yet")


@action(args={"recording_id": v.id("recordings")})
async def playback_url(ctx: ActionCtx, recording_id: str) -> Any:
    """A short-lived URL to play a recording: for the call's agents and supervisors only."""
    who = identity(ctx)
    target = await ctx.run_query("media:playback_target", {"recording_id": recording_id})
    if target is None:
        raise UserError({"code": "recording_not_found", "recording_id": recording_id})
    if who.get("role") != "supervisor" and str(who["subject"]) not in target["agents"]:
        raise UserError({"code": "forbidden", "message": "not your call's recording"})
    rec = target["recording"]
    if rec.get("storage") == "s3":
        ttl = _int_setting(ctx.env, "RECORDINGS_URL_TTL_S", DEFAULT_URL_TTL_S, MAX_URL_TTL_S)
        client = s3_client(ctx.env)
        filename = rec["storage_key"].rsplit("/", 1)[-1]
        url = client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": rec["bucket"],
                "Key": rec["storage_key"],
                "ResponseContentType": rec.get("content_type") or "audio/mpeg",
                "ResponseContentDisposition": f'inline; filename="{filename}"',
            },
            ExpiresIn=ttl,
        )
        return {"url": url, "expires_in_s": ttl}
    if rec.get("storage") == "files":
        url = await ctx.storage.get_url(rec["storage_id"])
        if url is None:
            raise UserError({"code": "recording_missing", "recording_id": recording_id})
        return {"url": url, "expires_in_s": None}
    raise UserError({"code": "recording_not_stored", "recording_id": recording_id})


async def _execute_fetch(ctx: ActionCtx, command: dict[str, Any]) -> dict[str, Any]:
    """Outbox executor of ``recording.fetch {recording_id}``; raises to be retried."""
    result: dict[str, Any] = await ctx.run_action(
        "media:fetch_recording", {"recording_id": command["args"]["recording_id"]}
    )
    return result


outbox.register_executor("recording.fetch", _execute_fetch)
