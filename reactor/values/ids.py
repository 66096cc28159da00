"""Document ids: :func:`encode_id`, :func:`decode_id`, :func:`new_internal_id`.

Invariant: an id is ``base32(varint(table_number) || internal[16] || fletcher16 footer)``
in Crockford's alphabet, and :func:`decode_id` accepts exactly the strings
:func:`encode_id` produces.
"""

from __future__ import annotations

import base64
import binascii
import functools
import operator
import os
import threading
import time
from typing import Final

_CROCKFORD: Final = "0123456789abcdefghjkmnpqrstvwxyz"
_RFC4648: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_FROM_CROCKFORD: Final = bytes.maketrans(_CROCKFORD.encode(), _RFC4648.encode())
_ID_ALPHABET: Final = frozenset(_CROCKFORD)
# Every pair of Crockford digits, indexed by the 10 bits they encode.
_PAIRS: Final = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_INTERNAL_LEN: Final = 16
_MAX_TABLE_NUMBER: Final = 2**32 - 1
_ID_VERSION: Final = 0


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _fletcher16(data: bytes) -> int:
    # Closed form of the running sums: s1 = sum(b), s2 = sum(b[j] * (n - j)), both mod 255.
    s1 = sum(data) % 255
    s2 = sum(map(operator.mul, data, range(len(data), 0, -1))) % 255
    return int((s2 << 8) | s1)


def encode_id(table_number: int, internal: bytes) -> str:
    """Encode a document id string from its table number (>= 1) and 16-byte internal id."""
    if type(table_number) is not int or not 1 <= table_number <= _MAX_TABLE_NUMBER:
        raise ValueError(f"table number must be an integer in 1..{_MAX_TABLE_NUMBER}")
    if len(internal) != _INTERNAL_LEN:
        raise ValueError(f"internal id must be {_INTERNAL_LEN} bytes")
    body = _varint(table_number) + bytes(internal)
    footer = (_fletcher16(body) ^ _ID_VERSION).to_bytes(2, "little")
    return _base32(body + footer)


def _base32(data: bytes) -> str:
    """Unpadded base32 of ``data`` in Crockford's alphabet (``base64.b32encode`` is pure
    Python and takes a few microseconds more per id: every insert makes one)."""
    bits = len(data) * 8
    chars = -(-bits // 5)
    n = int.from_bytes(data, "big") << (chars * 5 - bits)
    digits: list[str] = []
    if chars & 1:
        digits.append(_CROCKFORD[n & 31])
        n >>= 5
    for _ in range(chars >> 1):
        digits.append(_PAIRS[n & 1023])
        n >>= 10
    digits.reverse()
    return "".join(digits)


def decode_id(s: str) -> tuple[int, bytes]:
    """Decode an id string into ``(table_number, internal)``; ``ValueError`` if malformed.

    Strict: only the exact strings :func:`encode_id` produces are accepted. Results are
    cached (ids are decoded again and again on hot paths).
    """
    if type(s) is not str:
        raise ValueError("invalid id: not a string")
    return _decode_id(s)


@functools.lru_cache(maxsize=65536)
def _decode_id(s: str) -> tuple[int, bytes]:
    if not 31 <= len(s) <= 37 or not _ID_ALPHABET.issuperset(s):
        raise ValueError("invalid id: wrong length or alphabet")
    raw_text = s.encode("ascii").translate(_FROM_CROCKFORD)
    try:
        raw = base64.b32decode(raw_text + b"=" * (-len(raw_text) % 8))
    except (binascii.Error, ValueError):
        raise ValueError("invalid id: bad base32 length") from None
    body, footer = raw[:-2], raw[-2:]
    if int.from_bytes(footer, "little") ^ _ID_VERSION != _fletcher16(body):
        raise ValueError("invalid id: checksum mismatch")
    table_number = 0
    shift = 0
    pos = 0
    while True:
        if pos >= len(body) or pos >= 5:
            raise ValueError("invalid id: bad table number")
        b = body[pos]
        table_number |= (b & 0x7F) << shift
        shift += 7
        pos += 1
        if not b & 0x80:
            break
    internal = body[pos:]
    if len(internal) != _INTERNAL_LEN or not 1 <= table_number <= _MAX_TABLE_NUMBER:
        raise ValueError("invalid id: bad table number or length")
    if encode_id(table_number, internal) != s:
        raise ValueError("invalid id: not in canonical form")
    return table_number, internal


_RANDOM_LEN: Final = 14
_POOLED_IDS: Final = 256


class _RandomPool(threading.local):
    """Random bytes from ``os.urandom``, fetched for many ids at once, one pool per thread.

    One ``getrandom`` call per id would release and retake the GIL per document written,
    and a thread that does that starves the others of it: each retake counts as a switch,
    so a waiting thread never asks it to let go (a 15,000-insert mutation in a worker
    thread held the event loop off for up to 170 ms at a time).
    """

    def __init__(self) -> None:
        self.data = b""
        self.pos = 0

    def take(self) -> bytes:
        pos = self.pos
        if pos + _RANDOM_LEN > len(self.data):
            self.data = os.urandom(_RANDOM_LEN * _POOLED_IDS)
            pos = 0
        self.pos = pos + _RANDOM_LEN
        return self.data[pos : pos + _RANDOM_LEN]

    def clear(self) -> None:
        self.data = b""
        self.pos = 0


_pool = _RandomPool()
# A forked child must not hand out the bytes its parent already used.
os.register_at_fork(after_in_child=_pool.clear)


def new_internal_id() -> bytes:
    """Return a fresh 16-byte internal id: 14 random bytes + 2-byte big-endian epoch day."""
    day = int(time.time() // 86400) & 0xFFFF
    return _pool.take() + day.to_bytes(2, "big")
