"""The fake OpenAI server answers the real ``openai`` SDK in the real wire format."""

from __future__ import annotations

import json

import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from tests.support.fake_openai import FakeOpenAI, Malformed, Refusal

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"score": {"type": "integer", "enum": [1, 2, 3, 4, 5]}},
    "required": ["score"],
}


def client(fake: FakeOpenAI, key: str | None = None) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=key or fake.api_key, base_url=fake.base_url, max_retries=0)


async def test_stream_is_server_sent_events(fake_openai: FakeOpenAI) -> None:
    fake_openai.stream_deltas = ["Hel", "lo", " world"]
    pieces, finish, usage = [], None, None
    async with client(fake_openai) as c:
        stream = await c.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage is not None:
                usage = chunk.usage.total_tokens
    assert "".join(pieces) == "Hello world"
    assert finish == "stop"
    assert usage == 18
    (seen,) = fake_openai.of("stream")
    assert seen.json is not None and seen.json["stream"] is True
    assert seen.headers["authorization"] == "Bearer sk-test"


async def test_structured_output_and_refusal(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("grade", {"score": 4}, Refusal("no"), Malformed("{oops"))
    fmt: ResponseFormatJSONSchema = {
        "type": "json_schema",
        "json_schema": {"name": "grade", "strict": True, "schema": SCHEMA},
    }
    msgs: list[ChatCompletionMessageParam] = [{"role": "user", "content": "x"}]
    async with client(fake_openai) as c:
        first = await c.chat.completions.create(model="m", messages=msgs, response_format=fmt)
        second = await c.chat.completions.create(model="m", messages=msgs, response_format=fmt)
        third = await c.chat.completions.create(model="m", messages=msgs, response_format=fmt)
    assert json.loads(first.choices[0].message.content or "") == {"score": 4}
    assert second.choices[0].message.refusal == "no"
    assert second.choices[0].message.content is None
    assert third.choices[0].message.content == "{oops"
    sent = fake_openai.of("chat")[0].json
    assert sent is not None and sent["response_format"]["json_schema"]["strict"] is True


async def test_transcription_multipart_verbose_json(fake_openai: FakeOpenAI) -> None:
    async with client(fake_openai) as c:
        result = await c.audio.transcriptions.create(
            model="whisper-1",
            file=("RE1.mp3", b"ID3-audio-bytes", "audio/mpeg"),
            response_format="verbose_json",
            timestamp_granularities=["segment"],
        )
    assert result.text == fake_openai.transcript_text
    assert [s.start for s in result.segments or []] == [0.0, 2.4, 5.9]
    (seen,) = fake_openai.of("transcribe")
    assert seen.files["file"] == ("RE1.mp3", "audio/mpeg", b"ID3-audio-bytes")
    assert seen.fields["model"] == "whisper-1"
    assert seen.fields["timestamp_granularities[]"] == "segment"


async def test_errors_map_to_sdk_exceptions(fake_openai: FakeOpenAI) -> None:
    msgs: list[ChatCompletionMessageParam] = [{"role": "user", "content": "x"}]
    async with client(fake_openai, key="sk-wrong") as wrong:
        with pytest.raises(openai.AuthenticationError):
            await wrong.chat.completions.create(model="m", messages=msgs)
    async with client(fake_openai) as c:
        fake_openai.fail_next(503, "overloaded")
        with pytest.raises(openai.InternalServerError, match="overloaded"):
            await c.chat.completions.create(model="m", messages=msgs)
        fake_openai.fail_next(429, "slow down")
        with pytest.raises(openai.RateLimitError):
            await c.chat.completions.create(model="m", messages=msgs)
        with pytest.raises(openai.NotFoundError):
            await c.embeddings.create(model="m", input="x")
        fake_openai.stream_error_after = 1
        stream = await c.chat.completions.create(model="m", messages=msgs, stream=True)
        with pytest.raises(openai.APIError, match="server had an error"):
            async for _ in stream:
                pass
