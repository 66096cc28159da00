"""Recordings: fetched with basic auth, stored once in S3 (moto) or file storage,
transcribed once, graded, and played back through short-lived URLs."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from reactor import Engine, UserError
from tests.support.fake_openai import FakeOpenAI
from tests.support.waiting import eventually

from ..helpers import SUPERVISOR, agent, sign_in
from .fakes import AUDIO, KEY_SECRET, KEY_SID, MediaServer, moto_s3
from .pipeline import GRADE, graded, handled_call, outbox_settled, recording_of

BUCKET = "cc-recordings"


@pytest.fixture
def media() -> Iterator[MediaServer]:
    with MediaServer() as server:
        yield server


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


def s3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


async def configure(engine: Engine, s3_endpoint: str | None) -> None:
    await engine.set_env("TWILIO_API_KEY_SID", KEY_SID)
    await engine.set_env("TWILIO_API_KEY_SECRET", KEY_SECRET)
    if s3_endpoint is not None:
        s3(s3_endpoint).create_bucket(Bucket=BUCKET)
        for name, value in {
            "RECORDINGS_BUCKET": BUCKET,
            "RECORDINGS_S3_ENDPOINT": s3_endpoint,
            "RECORDINGS_S3_ACCESS_KEY_ID": "testing",
            "RECORDINGS_S3_SECRET_ACCESS_KEY": "testing",
        }.items():
            await engine.set_env(name, value)


async def record(engine: Engine, media: MediaServer, call_id: str, sid: str = "RE1") -> str:
    call = await engine.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    return str(
        await engine.mutation(
            "media:on_recording",
            {
                "call_sid": call["call_sid"],
                "recording_sid": sid,
                "recording_url": media.add(sid),
                "duration_s": 9.0,
            },
        )
    )


async def test_recording_to_s3_transcribed_and_graded(
    ai: Engine, fake_openai: FakeOpenAI, media: MediaServer, s3_endpoint: str
) -> None:
    await configure(ai, s3_endpoint)
    fake_openai.reply("call_scorecard", GRADE)
    call_id = await handled_call(ai)
    rec_id = await record(ai, media, call_id)

    cards = await eventually(lambda: graded(ai, call_id), "the call was graded")
    rec = await recording_of(ai, call_id)
    assert rec["_id"] == rec_id
    assert rec["storage"] == "s3" and rec["bucket"] == BUCKET
    assert rec["size_bytes"] == len(AUDIO)
    assert rec["sha256"] == hashlib.sha256(AUDIO).hexdigest()
    assert rec["storage_key"].startswith("recordings/") and rec["storage_key"].endswith(
        "/CArec1/RE1.mp3"
    )
    # Downloaded with basic auth from RecordingUrl + ".mp3".
    assert [s["path"] for s in media.seen] == ["/2010-04-01/Accounts/ACtest/Recordings/RE1.mp3"]
    assert media.seen[0]["authorization"].startswith("Basic ")
    obj = s3(s3_endpoint).get_object(Bucket=BUCKET, Key=rec["storage_key"])
    assert obj["Body"].read() == AUDIO
    assert obj["ContentType"] == "audio/mpeg"
    assert obj["Metadata"]["recording-sid"] == "RE1"
    assert obj["Metadata"]["sha256"] == rec["sha256"]

    # Transcribed once, segments kept, linked, searchable.
    (upload,) = fake_openai.of("transcribe")
    assert upload.files["file"] == ("RE1.mp3", "audio/mpeg", AUDIO)
    assert upload.fields["response_format"] == "verbose_json"
    transcript = await ai.query("transcripts:for_call", {"call_id": call_id}, identity=SUPERVISOR)
    assert transcript["recording_id"] == rec_id
    assert transcript["text"] == fake_openai.transcript_text
    assert [(s["start"], s["end"]) for s in transcript["segments"]] == [
        (0.0, 2.4),
        (2.4, 5.9),
        (5.9, 9.0),
    ]
    found = await ai.query("transcripts:search", {"text": "refund"}, identity=SUPERVISOR)
    assert [t["_id"] for t in found] == [transcript["_id"]]
    mine = await ai.query("transcripts:search", {"text": "refund"}, identity=agent(1))
    assert [t["_id"] for t in mine] == [transcript["_id"]]

    # Graded: an AI scorecard apart from the human ones.
    (card,) = cards
    assert card["status"] == "done"
    assert card["scores"] == {k: GRADE[k] for k in card["scores"]}
    assert card["feedback"] == GRADE["feedback"]
    assert card["model"] == "gpt-4o-mini" and card["prompt_version"] == "grade-v1"
    assert card["transcript_id"] == transcript["_id"]
    assert await ai.query("scorecards:for_call", {"call_id": call_id}, identity=SUPERVISOR) == []
    sent = fake_openai.of("chat")[0].json
    assert sent is not None
    schema = sent["response_format"]["json_schema"]
    assert schema["name"] == "call_scorecard" and schema["strict"] is True
    assert schema["schema"]["properties"]["greeting"] == {
        "type": "integer",
        "enum": [1, 2, 3, 4, 5],
    }
    assert fake_openai.transcript_text in sent["messages"][1]["content"]

    # Replays store, transcribe and grade nothing twice.
    again = await ai.action("media:fetch_recording", {"recording_id": rec_id})
    assert again == {"stored": False, "reason": "already stored"}
    await record(ai, media, call_id)
    await ai.action("ai/transcribe:recording", {"recording_id": rec_id})
    await ai.action("ai/grading:grade", {"call_id": call_id})
    listed = s3(s3_endpoint).list_objects_v2(Bucket=BUCKET)
    assert [o["Key"] for o in listed["Contents"]] == [rec["storage_key"]]
    assert len(fake_openai.of("transcribe")) == 1
    assert len(fake_openai.of("chat")) == 1
    assert (await recording_of(ai, call_id))["status"] == "stored"


async def test_a_conditional_put_never_overwrites(
    ai: Engine, media: MediaServer, s3_endpoint: str
) -> None:
    await configure(ai, s3_endpoint)
    media_mod = ai.project_module("media")
    client = s3(s3_endpoint)
    meta = {"sha256": hashlib.sha256(b"one").hexdigest()}
    assert media_mod.put_if_absent(client, BUCKET, "k.mp3", b"one", "audio/mpeg", meta) is True
    # The same bytes again: already there, nothing written.
    assert media_mod.put_if_absent(client, BUCKET, "k.mp3", b"one", "audio/mpeg", meta) is False
    other = {"sha256": hashlib.sha256(b"two").hexdigest()}
    with pytest.raises(media_mod.FetchFailed, match="different content"):
        media_mod.put_if_absent(client, BUCKET, "k.mp3", b"two", "audio/mpeg", other)
    assert client.get_object(Bucket=BUCKET, Key="k.mp3")["Body"].read() == b"one"


async def test_playback_urls_are_short_lived_and_for_authorised_users(
    ai: Engine, fake_openai: FakeOpenAI, media: MediaServer, s3_endpoint: str
) -> None:
    await configure(ai, s3_endpoint)
    fake_openai.reply("call_scorecard", GRADE)
    call_id = await handled_call(ai)
    rec_id = await record(ai, media, call_id)
    await eventually(lambda: graded(ai, call_id), "the call was graded")
    await sign_in(ai, 2)

    reply = await ai.action("media:playback_url", {"recording_id": rec_id}, identity=SUPERVISOR)
    url = reply["url"]
    assert reply["expires_in_s"] == 900
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Expires=900" in url
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == AUDIO
        assert response.headers["Content-Type"] == "audio/mpeg"
    mine = await ai.action("media:playback_url", {"recording_id": rec_id}, identity=agent(1))
    assert mine["url"].startswith(s3_endpoint)
    for who, code in ((agent(2), "forbidden"), (None, "unauthenticated")):
        with pytest.raises(UserError) as exc:
            await ai.action("media:playback_url", {"recording_id": rec_id}, identity=who)
        assert exc.value.data["code"] == code


async def test_without_a_bucket_recordings_go_to_file_storage(
    ai: Engine, fake_openai: FakeOpenAI, media: MediaServer
) -> None:
    await configure(ai, None)
    fake_openai.reply("call_scorecard", GRADE)
    call_id = await handled_call(ai)
    rec_id = await record(ai, media, call_id)
    await eventually(lambda: graded(ai, call_id), "the call was graded")
    rec = await recording_of(ai, call_id)
    assert rec["storage"] == "files" and "bucket" not in rec
    found = await ai.read_file(rec["storage_id"])
    assert found is not None
    stored, data = found
    assert data == AUDIO and stored.content_type == "audio/mpeg"
    reply = await ai.action("media:playback_url", {"recording_id": rec_id}, identity=agent(1))
    assert rec["storage_id"] in reply["url"]


async def test_a_failed_download_stores_nothing(ai: Engine, media: MediaServer) -> None:
    await configure(ai, None)
    await ai.set_env("TWILIO_API_KEY_SECRET", "wrong")
    call_id = await handled_call(ai)
    rec_id = await record(ai, media, call_id)
    with pytest.raises(Exception, match="answered 401"):
        await ai.action("media:fetch_recording", {"recording_id": rec_id})
    rec = await recording_of(ai, call_id)
    assert "sha256" not in rec and "storage" not in rec
    # Credentials never travel over plain HTTP to a non-loopback host.
    mod = ai.project_module("media")
    with pytest.raises(mod.FetchFailed, match="plain HTTP"):
        mod.download("http://media.example.com/RE1.mp3", ("u", "p"), 10)
    with pytest.raises(mod.FetchFailed, match="http"):
        mod.download("file:///etc/passwd", None, 10)


async def test_voicemail_is_transcribed_once_and_not_graded(
    ai: Engine, fake_openai: FakeOpenAI, media: MediaServer
) -> None:
    await configure(ai, None)
    fake_openai.transcript_segments = [{"start": 0.0, "end": 3.0, "text": " Please call me back."}]
    r = await ai.mutation(
        "calls:on_incoming",
        {"call_sid": "CAvm1", "from_number": "+13105550123", "to_number": "+15550001111"},
    )
    vm = await ai.mutation("calls:to_voicemail", {"call_id": r["call_id"]})
    await record(ai, media, r["call_id"], sid="REvm1")

    async def transcribed() -> list[dict[str, Any]]:
        inbox = await ai.query("voicemails:list", {}, identity=SUPERVISOR)
        return [v for v in inbox if v["transcription"]]

    (item,) = await eventually(transcribed, "the voicemail was transcribed")
    assert item["_id"] == vm["voicemail_id"]
    assert item["transcription"] == "Please call me back."
    transcript = await ai.query(
        "transcripts:for_call", {"call_id": r["call_id"]}, identity=SUPERVISOR
    )
    assert transcript["source"] == "voicemail"
    await ai.action("ai/transcribe:recording", {"recording_id": item["recording_id"]})
    assert len(fake_openai.of("transcribe")) == 1
    assert fake_openai.of("chat") == []  # voicemails are not graded


async def test_failed_fetch_and_transcription_are_retried_by_the_outbox(
    ai: Engine, fake_openai: FakeOpenAI, media: MediaServer
) -> None:
    await configure(ai, None)
    fake_openai.reply("call_scorecard", GRADE)
    fake_openai.fail_next(500, "transcriber down", route="transcribe")
    media.fail_with = 404  # Twilio's media can lag its callback
    call_id = await handled_call(ai)
    await record(ai, media, call_id)

    async def fetch_failed_once() -> bool:
        return len(media.seen) >= 1

    await eventually(fetch_failed_once, "the first fetch attempt")
    media.fail_with = None
    await eventually(lambda: graded(ai, call_id), "the call was graded after retries")
    sent = {c["kind"]: c for c in await outbox_settled(ai)}
    assert sent["recording.fetch"]["attempts"] == 2
    assert sent["transcript.create"]["attempts"] == 2
    assert sent["ai.grade"]["attempts"] == 1
    assert len(fake_openai.of("transcribe")) == 2


async def test_a_voicemail_recording_plays_for_its_assignee(
    ai: Engine, fake_openai: FakeOpenAI, media: MediaServer
) -> None:
    await configure(ai, None)
    r = await ai.mutation(
        "calls:on_incoming",
        {"call_sid": "CAvm2", "from_number": "+13105550124", "to_number": "+15550001111"},
    )
    await ai.mutation("calls:to_voicemail", {"call_id": r["call_id"]})
    await sign_in(ai, 1)
    await sign_in(ai, 2)
    rec_id = await record(ai, media, r["call_id"], sid="REvm2")
    await outbox_settled(ai)
    (vm,) = await ai.query("voicemails:list", {}, identity=SUPERVISOR)
    args = {"recording_id": rec_id}
    with pytest.raises(UserError, match="forbidden"):
        await ai.action("media:playback_url", args, identity=agent(1))
    await ai.mutation("voicemails:assign", {"voicemail_id": vm["_id"]}, identity=agent(1))
    assert (await ai.action("media:playback_url", args, identity=agent(1)))["url"]
    with pytest.raises(UserError, match="forbidden"):
        await ai.action("media:playback_url", args, identity=agent(2))


async def test_a_new_transcript_reaches_an_open_search(
    ai: Engine, fake_openai: FakeOpenAI, media: MediaServer
) -> None:
    await configure(ai, None)
    fake_openai.reply("call_scorecard", GRADE)
    customer_id = await ai.mutation(
        "customers:create", {"name": "Ann", "phone": "+13105550100"}, identity=SUPERVISOR
    )
    call_id = await handled_call(ai)
    async with ai.subscribe(
        "transcripts:search", {"text": "refund"}, identity=SUPERVISOR
    ) as search:
        assert await search.next() == []
        await record(ai, media, call_id)
        found = await asyncio.wait_for(search.next(), 30)
    assert [t["call_id"] for t in found] == [call_id]
    assert found[0]["customer_id"] == customer_id and found[0]["agent_id"] == "agent-1"
    rec = await recording_of(ai, call_id)
    assert rec["customer_id"] == customer_id
