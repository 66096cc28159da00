"""A loopback stand-in for the OpenAI HTTP API, speaking its wire format.

The real ``openai`` client talks to it through ``base_url`` (``OPENAI_BASE_URL``), so
tests exercise the SDK's own request encoding and response parsing:

- ``POST /v1/chat/completions``: a ``chat.completion`` JSON object; with ``"stream": true``
  a ``text/event-stream`` of ``chat.completion.chunk`` events (``data: {...}``), a final
  ``finish_reason`` chunk, a usage chunk when ``stream_options.include_usage`` is set, and
  ``data: [DONE]``. With ``response_format`` ``json_schema`` the content is a JSON string
  scripted per schema name (or a refusal, or malformed text, when a test asks for that).
- ``POST /v1/audio/transcriptions``: ``multipart/form-data`` with a ``file`` part;
  answers ``json``, ``text`` or ``verbose_json`` (with timestamped ``segments``).
- errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``: 401
  without a bearer key, 404 for unknown routes, 400 for bad bodies, and any status a test
  queues with :meth:`FakeOpenAI.fail_next`.

Every request is recorded (:attr:`FakeOpenAI.requests`) so tests can check what the
application sent. The server runs in a daemon thread on ``127.0.0.1`` at a port the OS
picks.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 32 * 1024 * 1024
CREATED = 1_795_000_000


@dataclass
class Refusal:
    """A structured-output reply in which the model refuses (``message.refusal``)."""

    text: str = "I can't help with that."


@dataclass
class Malformed:
    """A reply whose ``content`` is not what the schema asked for."""

    content: str = '{"greeting": "excellent"'


@dataclass
class Failure:
    """An HTTP error answered instead of the next matching request."""

    status: int
    message: str
    type: str = "server_error"
    route: str | None = None  # "chat", "stream", "transcribe" or None for any


@dataclass
class Recorded:
    """One request as the fake received it."""

    route: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str | None, str, bytes]] = field(default_factory=dict)


DEFAULT_SEGMENTS = [
    {"start": 0.0, "end": 2.4, "text": " Thank you for calling, this is Sam."},
    {"start": 2.4, "end": 5.9, "text": " Hi, I want a refund for my last order."},
    {"start": 5.9, "end": 9.0, "text": " I can do that for you right now."},
]


class FakeOpenAI:
    """The fake server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, api_key: str = "sk-test") -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        # Streamed completions: the content deltas, in order.
        self.stream_deltas: list[str] = ["Hello", " there.", " How can", " I help?"]
        # Called (in the server thread) before delta i is written: tests pace the stream.
        self.before_delta: Callable[[int], None] | None = None
        # After this many deltas the stream sends an error event and ends.
        self.stream_error_after: int | None = None
        # Plain completions: content for a prompt without a response_format.
        self.text_reply = "ok"
        # Structured outputs: replies per json_schema name, used in order; the last repeats.
        self.structured: dict[str, list[Any]] = {}
        self.transcript_segments: list[dict[str, Any]] = list(DEFAULT_SEGMENTS)
        self.transcript_language = "english"
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------

    def reply(self, schema_name: str, *replies: Any) -> None:
        """Queue structured-output replies (dicts, :class:`Refusal`, :class:`Malformed`)."""
        with self._lock:
            self.structured.setdefault(schema_name, []).extend(replies)

    def fail_next(
        self, status: int, message: str = "the fake failed", *, route: str | None = None
    ) -> None:
        """Answer the next request (of ``route``, if given) with an error status."""
        kind = "rate_limit_error" if status == 429 else "server_error"
        if 400 <= status < 500 and status != 429:
            kind = "invalid_request_error"
        with self._lock:
            self._failures.append(Failure(status, message, kind, route))

    def of(self, route: str) -> list[Recorded]:
        """The recorded requests of one route."""
        return [r for r in self.requests if r.route == route]

    @property
    def transcript_text(self) -> str:
        return "".join(s["text"] for s in self.transcript_segments).strip()

    # -- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler ---------------------------------------------------------

    def _take_failure(self, route: str) -> Failure | None:
        with self._lock:
            for i, failure in enumerate(self._failures):
                if failure.route in (None, route):
                    return self._failures.pop(i)
        return None

    def _structured_reply(self, name: str) -> Any:
        with self._lock:
            queue = self.structured.get(name)
            if not queue:
                return None
            return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing --------------------------------------------------------------------

    def _send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, status: int, message: str, kind: str = "invalid_request_error", param: Any = None
    ) -> None:
        self._send_json(
            status, {"error": {"message": message, "type": kind, "param": param, "code": None}}
        )

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._error(413, "request too large")
            return None
        return self.rfile.read(length)

    def do_GET(self) -> None:
        self._error(404, f"Unknown request URL: GET {self.path}")

    def do_POST(self) -> None:
        fake = self.server_fake
        body = self._body()
        if body is None:
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if headers.get("authorization") != f"Bearer {fake.api_key}":
            self._error(401, "Incorrect API key provided.", "invalid_request_error")
            return
        if self.path == "/v1/chat/completions":
            self._chat(body, headers)
        elif self.path == "/v1/audio/transcriptions":
            self._transcribe(body, headers)
        else:
            self._error(404, f"Unknown request URL: POST {self.path}")

    # -- chat completions ------------------------------------------------------------

    def _chat(self, body: bytes, headers: dict[str, str]) -> None:
        fake = self.server_fake
        try:
            req = json.loads(body)
        except ValueError:
            self._error(400, "We could not parse the JSON body of your request.")
            return
        if not isinstance(req, dict) or "model" not in req or "messages" not in req:
            self._error(400, "you must provide a model parameter and messages")
            return
        route = "stream" if req.get("stream") else "chat"
        fake.requests.append(Recorded(route, self.path, headers, json=req))
        failure = fake._take_failure(route)
        if failure is not None:
            self._error(failure.status, failure.message, failure.type)
            return
        if route == "stream":
            self._stream(req)
            return
        message: dict[str, Any] = {"role": "assistant", "content": fake.text_reply, "refusal": None}
        finish = "stop"
        fmt = req.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            spec = fmt.get("json_schema") or {}
            scripted = fake._structured_reply(str(spec.get("name")))
            if scripted is None:
                self._error(500, f"the fake has no reply for schema {spec.get('name')!r}")
                return
            if isinstance(scripted, Refusal):
                message = {"role": "assistant", "content": None, "refusal": scripted.text}
            elif isinstance(scripted, Malformed):
                message["content"] = scripted.content
            else:
                message["content"] = json.dumps(scripted)
        self._send_json(
            200,
            {
                "id": f"chatcmpl-{len(fake.requests)}",
                "object": "chat.completion",
                "created": CREATED,
                "model": req["model"],
                "system_fingerprint": None,
                "choices": [
                    {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
                ],
                "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
            },
        )

    def _event(self, payload: dict[str, Any] | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _stream(self, req: dict[str, Any]) -> None:
        fake = self.server_fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        base = {
            "id": "chatcmpl-stream",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": req["model"],
            "system_fingerprint": None,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                **base,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }

        try:
            self._event(chunk({"role": "assistant", "content": ""}))
            for i, text in enumerate(fake.stream_deltas):
                if fake.stream_error_after is not None and i >= fake.stream_error_after:
                    self._event(
                        {
                            "error": {
                                "message": "The server had an error while processing",
                                "type": "server_error",
                                "param": None,
                                "code": None,
                            }
                        }
                    )
                    return
                if fake.before_delta is not None:
                    fake.before_delta(i)
                self._event(chunk({"content": text}))
            self._event(chunk({}, "stop"))
            if (req.get("stream_options") or {}).get("include_usage"):
                self._event(
                    {
                        **base,
                        "choices": [],
                        "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
                    }
                )
            self._event("[DONE]")
        except (BrokenPipeError, ConnectionResetError):
            return

    # -- transcriptions --------------------------------------------------------------

    def _transcribe(self, body: bytes, headers: dict[str, str]) -> None:
        fake = self.server_fake
        ctype = headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            self._error(400, "Invalid Content-Type header: expected multipart/form-data")
            return
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
        )
        fields: dict[str, str] = {}
        files: dict[str, tuple[str | None, str, bytes]] = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)  # bytes for a non-multipart part
            payload = raw if isinstance(raw, bytes) else b""
            if not isinstance(name, str):
                continue
            if part.get_filename() is not None:
                files[name] = (part.get_filename(), part.get_content_type(), payload)
            elif name in fields:  # repeated fields such as timestamp_granularities[]
                fields[name] += "," + payload.decode()
            else:
                fields[name] = payload.decode()
        fake.requests.append(Recorded("transcribe", self.path, headers, fields=fields, files=files))
        failure = fake._take_failure("transcribe")
        if failure is not None:
            self._error(failure.status, failure.message, failure.type)
            return
        if "file" not in files or not files["file"][2]:
            self._error(400, "you must provide a file", param="file")
            return
        if "model" not in fields:
            self._error(400, "you must provide a model parameter", param="model")
            return
        fmt = fields.get("response_format", "json")
        text = fake.transcript_text
        if fmt == "text":
            data = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif fmt == "verbose_json":
            segments = [
                {
                    "id": i,
                    "seek": 0,
                    "start": s["start"],
                    "end": s["end"],
                    "text": s["text"],
                    "tokens": [1, 2, 3],
                    "temperature": 0.0,
                    "avg_logprob": -0.2,
                    "compression_ratio": 1.1,
                    "no_speech_prob": 0.01,
                }
                for i, s in enumerate(fake.transcript_segments)
            ]
            duration = segments[-1]["end"] if segments else 0.0
            self._send_json(
                200,
                {
                    "task": "transcribe",
                    "language": fake.transcript_language,
                    "duration": duration,
                    "text": text,
                    "segments": segments,
                },
            )
        elif fmt == "json":
            self._send_json(200, {"text": text, "usage": {"type": "duration", "seconds": 9}})
        else:
            self._error(400, f"response_format {fmt!r} is not supported by the fake")
