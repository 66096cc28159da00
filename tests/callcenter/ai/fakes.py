"""Loopback fakes for the recording pipeline: Twilio's recording media and moto's S3."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AUDIO = b"ID3\x04\x00fake-mp3-audio" + bytes(range(256)) * 40
KEY_SID, KEY_SECRET = "SKtestkey", "test-key-secret"


class MediaServer:
    """Serves recording audio at Twilio-shaped URLs behind HTTP basic auth."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.seen: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self._server: ThreadingHTTPServer | None = None

    def url(self, recording_sid: str) -> str:
        """The RecordingUrl Twilio would post (no extension)."""
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/2010-04-01/Accounts/ACtest/Recordings/{recording_sid}"

    def add(self, recording_sid: str, data: bytes = AUDIO) -> str:
        self.files[f"/2010-04-01/Accounts/ACtest/Recordings/{recording_sid}.mp3"] = data
        return self.url(recording_sid)

    def __enter__(self) -> MediaServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                auth = self.headers.get("Authorization")
                fake.seen.append({"path": self.path, "authorization": auth})
                good = "Basic " + base64.b64encode(f"{KEY_SID}:{KEY_SECRET}".encode()).decode()
                if fake.fail_with is not None:
                    self.send_error(fake.fail_with)
                elif auth != good:
                    self.send_error(401)
                elif self.path not in fake.files:
                    self.send_error(404)
                else:
                    data = fake.files[self.path]
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/mpeg")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def moto_s3() -> Iterator[str]:
    """A moto S3 server on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
