"""Authentication: user JWTs and the admin key.

User tokens are JSON Web Tokens, verified here without third-party libraries:

- ``RS256`` against a JSON Web Key Set (``REACTOR_AUTH_JWKS``: an ``http(s)://`` URL,
  a file path, or the JSON text itself); keys are picked by ``kid`` and re-fetched (at
  most every 30 s) when a token names an unknown one;
- ``HS256`` with a shared secret (``REACTOR_AUTH_SECRET``), convenient in development.

Checks: signature, ``exp`` present (unless ``REACTOR_AUTH_ALLOW_NO_EXP=1``) and
``exp``/``nbf`` (with a small leeway), ``iss`` equal to ``REACTOR_AUTH_ISSUER`` and
``aud`` containing ``REACTOR_AUTH_AUDIENCE`` when those are set, and a non-empty string
``sub``. Claims become the identity functions see via ``ctx.auth.get_user_identity()``
(JSON numbers become floats, as everywhere in reactor); ``subject``, ``issuer`` and
``token_identifier`` are always derived from the verified ``sub`` and ``iss``, never
taken from claims of those names.

Admin callers present the deployment's admin key (``Authorization: Convex <key>`` over
HTTP, ``Authenticate{tokenType:"Admin"}`` on the socket); it is compared in constant time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactor.errors import AuthenticationError, ReactorError, ValidationError
from reactor.types import Identity
from reactor.values import from_json

__all__ = [
    "AuthConfig",
    "Authenticator",
    "check_admin_key",
    "normalize_identity",
    "parse_authorization",
]

LEEWAY_SECONDS = 5.0
JWKS_CACHE_SECONDS = 600.0
JWKS_REFETCH_SECONDS = 30.0
MAX_TOKEN_BYTES = 16 * 1024

_B64URL = re.compile(r"[A-Za-z0-9_-]*")

# DER prefix of DigestInfo for SHA-256 (RFC 8017 §9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Where user tokens come from and how to check them."""

    issuer: str | None = None
    audience: str | None = None
    jwks: str | None = None
    secret: str | None = None
    # Tokens without ``exp`` never expire; they are refused unless this is set.
    allow_no_exp: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthConfig:
        """Read ``REACTOR_AUTH_ISSUER/AUDIENCE/JWKS/SECRET`` (empty means unset)."""
        env = os.environ if environ is None else environ
        return cls(
            issuer=env.get("REACTOR_AUTH_ISSUER") or None,
            audience=env.get("REACTOR_AUTH_AUDIENCE") or None,
            jwks=env.get("REACTOR_AUTH_JWKS") or None,
            secret=env.get("REACTOR_AUTH_SECRET") or None,
            allow_no_exp=env.get("REACTOR_AUTH_ALLOW_NO_EXP", "") in ("1", "true", "yes"),
        )

    @property
    def enabled(self) -> bool:
        return self.jwks is not None or self.secret is not None


def check_admin_key(presented: str | None, admin_key: str | None) -> bool:
    """Whether ``presented`` is the admin key (always False when no key is configured)."""
    if not presented or not admin_key:
        return False
    return hmac.compare_digest(presented.encode(), admin_key.encode())


def parse_authorization(header: str | None) -> tuple[str, str] | None:
    """``("Bearer"|"Convex", credential)`` from an Authorization header, or None."""
    if not header:
        return None
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if not credential:
        return None
    if scheme.lower() == "bearer":
        return "Bearer", credential
    if scheme.lower() == "convex":
        return "Convex", credential
    return None


def _b64url(segment: str) -> bytes:
    if not _B64URL.fullmatch(segment):
        raise AuthenticationError("malformed token: bad base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise AuthenticationError("malformed token: bad base64url") from None


def _json_part(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(segment))
    except (ValueError, RecursionError):
        raise AuthenticationError(f"malformed token: {what} is not JSON") from None
    if not isinstance(value, dict):
        raise AuthenticationError(f"malformed token: {what} is not an object")
    return value


def _rsa_verify(n: int, e: int, message: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256 (public-key operation only)."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k or k < 128:  # require RSA >= 1024 bits
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(em, expected)


class Authenticator:
    """Verifies user tokens and admin keys for one server."""

    def __init__(self, config: AuthConfig | None = None, admin_key: str | None = None) -> None:
        self.config = config or AuthConfig()
        self.admin_key = admin_key
        self._keys: dict[str | None, tuple[int, int]] = {}
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    def is_admin_key(self, key: str | None) -> bool:
        return check_admin_key(key, self.admin_key)

    async def verify(self, token: str) -> dict[str, Any]:
        """The normalized identity of a valid user token; AuthenticationError otherwise."""
        if not self.config.enabled:
            raise AuthenticationError(
                "no auth provider is configured (set REACTOR_AUTH_JWKS or REACTOR_AUTH_SECRET)"
            )
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthenticationError("token too long")
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthenticationError("malformed token: expected three dot-separated parts")
        header = _json_part(parts[0], "header")
        claims = _json_part(parts[1], "payload")
        signature = _b64url(parts[2])
        signed = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        alg = header.get("alg")
        if alg == "HS256" and self.config.secret is not None:
            mac = hmac.new(self.config.secret.encode(), signed, hashlib.sha256).digest()
            ok = hmac.compare_digest(mac, signature)
        elif alg == "RS256" and self.config.jwks is not None:
            kid = header.get("kid")
            key = await self._key(kid if isinstance(kid, str) else None)
            ok = _rsa_verify(key[0], key[1], signed, signature)
        else:
            raise AuthenticationError(f"unsupported token algorithm {alg!r}")
        if not ok:
            raise AuthenticationError("invalid token signature")
        return self._check_claims(claims)

    def _check_claims(self, claims: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        exp = claims.get("exp")
        if exp is None and not self.config.allow_no_exp:
            raise AuthenticationError(
                "token has no exp claim (tokens must expire; REACTOR_AUTH_ALLOW_NO_EXP=1 "
                "accepts such tokens)"
            )
        if exp is not None and (not isinstance(exp, int | float) or now > exp + LEEWAY_SECONDS):
            raise AuthenticationError("token expired")
        nbf = claims.get("nbf")
        if nbf is not None and (not isinstance(nbf, int | float) or now + LEEWAY_SECONDS < nbf):
            raise AuthenticationError("token not yet valid")
        cfg = self.config
        if cfg.issuer is not None and claims.get("iss") != cfg.issuer:
            raise AuthenticationError(f"token issuer {claims.get('iss')!r} is not {cfg.issuer!r}")
        if cfg.audience is not None:
            aud = claims.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            if cfg.audience not in auds:
                raise AuthenticationError(f"token audience {aud!r} does not include ours")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthenticationError(
                "token has no sub claim: the subject must be a non-empty string"
            )
        iss = claims.get("iss")
        if iss is not None and not isinstance(iss, str):
            raise AuthenticationError("token iss claim must be a string")
        try:
            identity = from_json(claims, "$.claims")
        except ReactorError as exc:
            raise AuthenticationError(f"unusable token claims: {exc}") from None
        assert isinstance(identity, dict)
        # Derived from what was verified only: a claim named "subject" or "issuer" must not
        # make a token issued to one user act as another.
        issuer = iss if iss is not None else "reactor"
        identity["subject"] = sub
        identity["issuer"] = issuer
        identity["token_identifier"] = f"{issuer}|{sub}"
        return identity

    # -- keys ------------------------------------------------------------------------------

    async def _key(self, kid: str | None) -> tuple[int, int]:
        async with self._lock:
            stale = time.monotonic() - self._keys_at
            missing = not self._keys or (kid not in self._keys and len(self._keys) != 1)
            if stale > JWKS_CACHE_SECONDS or (missing and stale > JWKS_REFETCH_SECONDS):
                self._keys = await asyncio.to_thread(self._load_jwks)
                self._keys_at = time.monotonic()
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise AuthenticationError(f"no signing key with kid {kid!r}")

    def _load_jwks(self) -> dict[str | None, tuple[int, int]]:
        source = self.config.jwks
        assert source is not None
        try:
            if source.lstrip().startswith("{"):
                text = source
            elif source.startswith(("http://", "https://")):
                with urllib.request.urlopen(source, timeout=10) as response:
                    text = response.read(1 << 20).decode()
            else:
                text = Path(source).read_text()
            doc = json.loads(text)
        except (OSError, ValueError) as exc:
            raise AuthenticationError(f"cannot load JWKS from {source!r}: {exc}") from None
        keys: dict[str | None, tuple[int, int]] = {}
        for jwk in doc.get("keys", []) if isinstance(doc, dict) else []:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
                continue
            try:
                n = int.from_bytes(_b64url(jwk["n"]), "big")
                e = int.from_bytes(_b64url(jwk["e"]), "big")
            except (KeyError, TypeError, AuthenticationError):
                continue
            kid = jwk.get("kid")
            keys[kid if isinstance(kid, str) else None] = (n, e)
        return keys


def normalize_identity(claims: Identity | None) -> Identity | None:
    """The identity functions see: the claims plus ``subject``, ``issuer``, ``token_identifier``."""
    if claims is None:
        return None
    if not isinstance(claims, dict):
        raise ValidationError(f"identity must be a dict of claims, got {type(claims).__name__}")
    identity = dict(claims)
    subject = identity.get("subject", identity.get("sub"))
    if not isinstance(subject, str) or not subject:
        raise ValidationError("an identity needs a non-empty string 'subject' (or 'sub') claim")
    issuer = identity.get("issuer", identity.get("iss", "reactor"))
    identity["subject"] = subject
    identity["issuer"] = str(issuer)
    identity.setdefault("token_identifier", f"{issuer}|{subject}")
    return identity
