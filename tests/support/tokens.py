"""Signed tokens for tests: HS256 with a shared secret, RS256 from a tiny RSA key generator.

The defaults (`ISSUER`, `AUDIENCE`, `SECRET`) match `support.server.server_config()`, so a
token made here with no arguments authenticates against a test server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from typing import Any

SECRET = "test-secret"
ISSUER = "https://issuer.test"
AUDIENCE = "reactor-tests"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(claims: dict[str, Any] | None = None, secret: str = SECRET, **extra: Any) -> str:
    """A signed HS256 token; default claims are valid for this module's config."""
    body = {"sub": "user-1", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 3600}
    body.update(claims or {})
    body.update(extra)
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(body).encode())
    sig = hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{_b64url(sig)}"


def _probable_prime(bits: int, rng: random.Random) -> int:
    while True:
        n = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if all(n % p for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)) and _miller_rabin(n, rng):
            return n


def _miller_rabin(n: int, rng: random.Random, rounds: int = 24) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


class RsaKey:
    """An RSA key pair able to sign RS256 tokens and publish its JWKS."""

    def __init__(self, kid: str = "k1", bits: int = 1024, seed: int = 7) -> None:
        rng = random.Random(seed)
        e = 65537
        while True:
            p, q = _probable_prime(bits // 2, rng), _probable_prime(bits // 2, rng)
            phi = (p - 1) * (q - 1)
            if p != q and phi % e:
                break
        self.n, self.e, self.d, self.kid = p * q, e, pow(e, -1, phi), kid

    def jwks(self) -> dict[str, Any]:
        k = (self.n.bit_length() + 7) // 8
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "kid": self.kid,
                    "alg": "RS256",
                    "n": _b64url(self.n.to_bytes(k, "big")),
                    "e": _b64url(self.e.to_bytes(3, "big")),
                }
            ]
        }

    def token(self, claims: dict[str, Any] | None = None) -> str:
        body = {"sub": "user-rs", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 3600}
        body.update(claims or {})
        head = _b64url(json.dumps({"alg": "RS256", "kid": self.kid}).encode())
        payload = _b64url(json.dumps(body).encode())
        k = (self.n.bit_length() + 7) // 8
        digest = (
            bytes.fromhex("3031300d060960864801650304020105000420")
            + hashlib.sha256(f"{head}.{payload}".encode()).digest()
        )
        em = b"\x00\x01" + b"\xff" * (k - len(digest) - 3) + b"\x00" + digest
        sig = pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(k, "big")
        return f"{head}.{payload}.{_b64url(sig)}"
