"""``POST /voice``: the streamed answer grows in ``messages:list`` as it arrives."""

from __future__ import annotations

import asyncio
import base64
import threading
from typing import Any

import httpx

from reactor import Engine
from tests.support.fake_openai import FakeOpenAI
from tests.support.server import running_server
from tests.support.sync_client import SyncClient

from ..helpers import SUPERVISOR

DELTAS = ["Hel", "lo there. ", "How can ", "I help you", " today?"]
# What the assistant message reads after each delta (one mutation per completed phrase).
GROWTH = ["Hello there. ", "Hello there. How can ", "Hello there. How can I help "]
FULL = "Hello there. How can I help you today?"


async def new_call(engine: Engine, sid: str = "CA1") -> str:
    r = await engine.mutation(
        "calls:on_incoming",
        {"call_sid": sid, "from_number": "+13105550100", "to_number": "+15550001111"},
    )
    return str(r["call_id"])


async def post_voice(base: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{base}/http/voice", json=body)


def assistant(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["role"] == "assistant"]


async def test_subscriber_sees_the_answer_grow_before_the_request_returns(
    ai: Engine, fake_openai: FakeOpenAI
) -> None:
    call_id = await new_call(ai)
    fake_openai.stream_deltas = DELTAS
    seen: list[tuple[str, str]] = []
    cond = threading.Condition()

    def pace(i: int) -> None:
        # Before delta i, wait until the subscriber saw the phrases of deltas < i:
        # the stream cannot outrun what the subscriber observed.
        need = {2: 1, 3: 2, 4: 3}.get(i, 0)
        with cond:
            cond.wait_for(lambda: len(seen) >= need, timeout=20)

    fake_openai.before_delta = pace
    async with running_server(ai) as base, SyncClient.connect(base) as ws:
        await ws.add(0, "messages:list", {"callId": call_id})
        await ws.until(lambda c: 0 in c.results)
        assert ws.results[0] == ("ok", [])
        request = asyncio.create_task(post_voice(base, {"callId": call_id, "text": "Hi!"}))
        done_when_growing: list[bool] = []
        while True:
            message = await ws.recv(timeout=20)
            if message["type"] != "Transition":
                continue
            ws.apply(message)
            status, value = ws.results[0][:2]
            assert status == "ok"
            answers = assistant(value)
            if not answers:
                continue
            (answer,) = answers
            current = (answer["text"], answer["status"])
            with cond:
                if not seen or seen[-1] != current:
                    seen.append(current)
                    if len(seen) == 3:
                        done_when_growing.append(request.done())
                cond.notify_all()
            if answer["status"] == "done":
                break
        response = await request
    assert response.status_code == 200, response.text
    assert response.text == "ok"
    assert done_when_growing == [False]
    assert [text for text, _ in seen[:3]] == GROWTH
    assert seen[-1] == (FULL, "done")
    # Every result extends the one before (the last only turns the status to done).
    assert seen[:-1] == [(t, "streaming") for t in [*GROWTH, FULL]]
    rows = await ai.query("messages:list", {"callId": call_id})
    assert [(m["role"], m["text"]) for m in rows] == [("user", "Hi!"), ("assistant", FULL)]
    sent = fake_openai.of("stream")[0].json
    assert sent is not None and sent["messages"][-1] == {"role": "user", "content": "Hi!"}


async def test_audio_is_transcribed_into_the_user_message(
    ai: Engine, fake_openai: FakeOpenAI
) -> None:
    call_id = await new_call(ai)
    fake_openai.transcript_segments = [{"start": 0.0, "end": 1.0, "text": " Where is my order?"}]
    audio = b"RIFF\x00\x00\x00\x00WAVEfmt fake"
    async with running_server(ai) as base:
        r = await post_voice(
            base, {"callId": call_id, "audioB64": base64.b64encode(audio).decode()}
        )
    assert r.status_code == 200, r.text
    (upload,) = fake_openai.of("transcribe")
    assert upload.files["file"] == ("turn.wav", "audio/wav", audio)
    rows = await ai.query("messages:list", {"callId": call_id})
    assert rows[0]["role"] == "user" and rows[0]["text"] == "Where is my order?"
    assert rows[1]["text"] == "Hello there. How can I help?"
    streamed = fake_openai.of("stream")[0].json
    assert streamed is not None
    assert streamed["messages"][-1]["content"] == "Where is my order?"


async def test_bad_requests_are_clear_4xx(ai: Engine, fake_openai: FakeOpenAI) -> None:
    call_id = await new_call(ai)
    customer_id = await ai.mutation(
        "customers:create", {"name": "Ann", "phone": "+13105550111"}, identity=SUPERVISOR
    )
    async with running_server(ai) as base, httpx.AsyncClient(timeout=30) as http:
        cases: list[tuple[Any, int, str]] = [
            ({"callId": "nope", "text": "hi"}, 400, "bad_call_id"),
            ({"text": "hi"}, 400, "bad_call_id"),
            ({"callId": call_id}, 400, "bad_body"),
            ({"callId": call_id, "text": "a", "audioB64": "AAAA"}, 400, "bad_body"),
            ({"callId": call_id, "audioB64": "not base64!"}, 400, "bad_audio"),
            ({"callId": call_id, "text": 7}, 400, "bad_text"),
            ([1, 2], 400, "bad_body"),
            ({"callId": customer_id, "text": "hi"}, 400, "bad_call_id"),
        ]
        for body, status, code in cases:
            r = await http.post(f"{base}/http/voice", json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
            assert r.json()["error"]["message"]
        r = await http.post(f"{base}/http/voice", content=b"{not json")
        assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_json")
    assert fake_openai.requests == []
    assert await ai.query("messages:list", {"callId": call_id}) == []


async def test_unknown_call_is_404(ai: Engine, tmp_path: Any) -> None:
    call_id = await new_call(ai)
    async with Engine.open(ai.project_root, database=f"sqlite:///{tmp_path}/other.db") as other:
        # The same id in another deployment: well-formed, but no such call there.
        await other.set_env("OPENAI_API_KEY", "sk-test")
        async with running_server(other) as base:
            r = await post_voice(base, {"callId": call_id, "text": "hi"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "call_not_found"


async def test_openai_down_is_502_and_leaves_nothing_half_written(
    ai: Engine, fake_openai: FakeOpenAI
) -> None:
    call_id = await new_call(ai)
    fake_openai.fail_next(503, "overloaded", route="stream")
    async with running_server(ai) as base:
        r = await post_voice(base, {"callId": call_id, "text": "Hi"})
    assert r.status_code == 502
    assert r.json()["error"] == {
        "code": "openai_failed",
        "message": "OpenAI answered 503: overloaded",
    }
    rows = await ai.query("messages:list", {"callId": call_id})
    assert [m["role"] for m in rows] == ["user"]  # no assistant message at all


async def test_stream_failing_midway_marks_the_answer_cut_off(
    ai: Engine, fake_openai: FakeOpenAI
) -> None:
    call_id = await new_call(ai)
    fake_openai.stream_deltas = DELTAS
    fake_openai.stream_error_after = 3
    async with running_server(ai) as base:
        r = await post_voice(base, {"callId": call_id, "text": "Hi"})
    assert r.status_code == 502
    (answer,) = assistant(await ai.query("messages:list", {"callId": call_id}))
    assert answer["status"] == "cut_off"
    assert answer["text"] == "Hello there. How can [answer cut off]"
    assert "server had an error" in answer["error"]


async def test_unconfigured_openai_is_503(ai: Engine) -> None:
    call_id = await new_call(ai)
    await ai.unset_env("OPENAI_API_KEY")
    async with running_server(ai) as base:
        r = await post_voice(base, {"callId": call_id, "text": "Hi"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "not_configured"
