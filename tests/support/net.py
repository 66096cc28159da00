"""Network helpers for tests: free ports and waiting for servers to come up."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that was free a moment ago.

    The port is released before returning, so another process may take it first; callers
    that bind it later should be ready to retry with a new one.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until a TCP connection to `host:port` succeeds; raise `TimeoutError` if not."""
    deadline = time.monotonic() + timeout
    last_error: OSError | None = None
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"nothing accepted connections on {host}:{port} within {timeout:g}s "
                f"(last error: {last_error})"
            )
        time.sleep(0.05)


def wait_until_responds(url: str, timeout: float = 10.0) -> int:
    """Block until `url` answers an HTTP GET with any status, and return that status.

    An error status (4xx, 5xx) still counts as an answer: the server is up. Raise
    `TimeoutError` when no answer came within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                status: int = response.status
                return status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{url} did not respond within {timeout:g}s (last error: {last_error})"
            )
        time.sleep(0.05)
