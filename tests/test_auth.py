"""JWT verification (HS256, RS256 via JWKS) and the admin key."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reactor import AuthenticationError
from reactor.auth import AuthConfig, Authenticator, check_admin_key, parse_authorization
from tests.support.tokens import AUDIENCE, ISSUER, SECRET, RsaKey, hs256_token

KEY = RsaKey()


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    body = json.dumps(KEY.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


def hs() -> Authenticator:
    return Authenticator(AuthConfig(issuer=ISSUER, audience=AUDIENCE, secret=SECRET))


async def test_hs256_identity() -> None:
    identity = await hs().verify(hs256_token(sub="u9", email="u9@example.com", n=3))
    assert identity["subject"] == "u9" and identity["issuer"] == ISSUER
    assert identity["token_identifier"] == f"{ISSUER}|u9"
    assert identity["email"] == "u9@example.com"
    assert identity["n"] == 3.0 and isinstance(identity["n"], float)  # JSON numbers are floats


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("a.b", "three"),
        ("!!!.e30.e30", "base64"),
        (hs256_token(secret="other"), "signature"),
        (hs256_token(exp=time.time() - 60), "expired"),
        (hs256_token(nbf=time.time() + 3600), "not yet valid"),
        (hs256_token(iss="https://other"), "issuer"),
        (hs256_token(aud=["x", "y"]), "audience"),
        (hs256_token(sub=""), "subject"),
        (hs256_token({"$weird": 1}), "claims"),
    ],
)
async def test_hs256_rejections(token: str, error: str) -> None:
    with pytest.raises(AuthenticationError, match=error):
        await hs().verify(token)


async def test_alg_none_and_unconfigured_are_rejected() -> None:
    head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b'{"sub":"x"}').rstrip(b"=").decode()
    with pytest.raises(AuthenticationError, match="algorithm"):
        await hs().verify(f"{head}.{payload}.")
    with pytest.raises(AuthenticationError, match="no auth provider"):
        await Authenticator().verify(hs256_token())
    # An RS256 token is not accepted by an HS256-only configuration.
    with pytest.raises(AuthenticationError, match="algorithm"):
        await hs().verify(KEY.token())


async def test_audience_list_accepted() -> None:
    identity = await hs().verify(hs256_token(aud=["other", AUDIENCE]))
    assert identity["subject"] == "user-1"


async def test_rs256_jwks_inline_file_and_url(tmp_path: Path, jwks_url: str) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KEY.jwks()))
    for source in (json.dumps(KEY.jwks()), str(path), jwks_url):
        auth = Authenticator(AuthConfig(issuer=ISSUER, audience=AUDIENCE, jwks=source))
        identity = await auth.verify(KEY.token({"sub": "rsa-user"}))
        assert identity["subject"] == "rsa-user"
        tampered = KEY.token({"sub": "rsa-user"})
        head, payload, sig = tampered.split(".")
        evil = base64.urlsafe_b64encode(
            json.dumps({"sub": "admin", "iss": ISSUER, "aud": AUDIENCE}).encode()
        )
        with pytest.raises(AuthenticationError, match="signature"):
            await auth.verify(f"{head}.{evil.rstrip(b'=').decode()}.{sig}")
    other = RsaKey(kid="k2", seed=11)
    auth = Authenticator(AuthConfig(jwks=str(path)))
    with pytest.raises(AuthenticationError, match="kid"):
        await auth.verify(other.token())
    missing = Authenticator(AuthConfig(jwks=str(tmp_path / "absent.json")))
    with pytest.raises(AuthenticationError, match="cannot load JWKS"):
        await missing.verify(KEY.token())


def test_config_from_env_and_headers() -> None:
    config = AuthConfig.from_env(
        {"REACTOR_AUTH_ISSUER": "i", "REACTOR_AUTH_SECRET": "s", "REACTOR_AUTH_JWKS": ""}
    )
    assert config == AuthConfig(issuer="i", secret="s") and config.enabled
    assert not AuthConfig.from_env({}).enabled
    assert check_admin_key("k", "k") and not check_admin_key("k", "j")
    assert not check_admin_key("", "") and not check_admin_key("k", None)
    assert parse_authorization("Bearer abc") == ("Bearer", "abc")
    assert parse_authorization("convex key ") == ("Convex", "key")
    assert parse_authorization("Basic x") is None and parse_authorization("Bearer") is None
