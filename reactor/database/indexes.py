"""Index definitions and the computation of index keys from documents.

An index key is the memcomparable encoding (:func:`reactor.values.encode_key`) of the
indexed field values followed by ``_creation_time`` and ``_id``, so every key is unique
and byte order equals value order. ``by_id`` is keyed by ``_id`` alone and
``by_creation_time`` by ``(_creation_time, _id)``. A missing field encodes as
"undefined", which sorts before every value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from reactor.database.sorted_keys import SortedKeys
from reactor.values import MISSING, encode_key, encode_value_key

__all__ = [
    "KEY_MAX",
    "KEY_MIN",
    "Index",
    "IndexSpec",
    "field_value",
    "index_keys",
    "key_doc_id",
    "point_interval",
    "prefix_end",
]

# Every encoded key starts with a type tag in 0x01..0x15, so b"" sorts before all keys and
# b"\xff" after all of them.
KEY_MIN = b""
KEY_MAX = b"\xff"


def prefix_end(prefix: bytes) -> bytes:
    """Exclusive upper bound of every key that extends the encoded tuple ``prefix``."""
    return prefix + b"\xff"


def point_interval(key: bytes) -> tuple[bytes, bytes]:
    """The half-open interval holding exactly ``key``."""
    return key, key + b"\x00"


def field_value(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted field path, or ``MISSING``."""
    if "." not in path:
        return doc.get(path, MISSING)
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """One index of one table: its name and the full list of key fields."""

    table: str
    name: str
    fields: tuple[str, ...]
    user_fields: tuple[str, ...] = ()
    # Stable identifier ``table.index`` used in read sets and the write log (computed
    # once: it is read for every key of every write).
    id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.table}.{self.name}")

    @staticmethod
    def by_id(table: str) -> IndexSpec:
        return IndexSpec(table, "by_id", ("_id",))

    @staticmethod
    def by_creation_time(table: str) -> IndexSpec:
        return IndexSpec(table, "by_creation_time", ("_creation_time", "_id"))

    @staticmethod
    def user(table: str, name: str, user_fields: Sequence[str]) -> IndexSpec:
        fields = (*user_fields, "_creation_time", "_id")
        return IndexSpec(table, name, fields, tuple(user_fields))

    def key(self, doc: dict[str, Any]) -> bytes:
        """The index key of a document."""
        return encode_key([field_value(doc, f) for f in self.fields])

    def prefix(self, values: Sequence[Any]) -> bytes:
        """The encoded prefix of the first ``len(values)`` key fields."""
        return encode_key(values)


_ID = ("_id",)
_SUFFIX = ("_creation_time", "_id")


def index_keys(specs: Sequence[IndexSpec], doc: dict[str, Any]) -> tuple[bytes, ...]:
    """The key of ``doc`` in each index of ``specs`` (equal to each ``spec.key(doc)``).

    A key is the concatenation of its fields' encodings, and every index but ``by_id``
    ends with ``(_creation_time, _id)``: the id and that suffix are encoded once per
    document, each field with :func:`~reactor.values.keys.encode_value_key` (this runs for
    every document loaded, ~3 µs instead of ~9 for three indexes).
    """
    id_key = encode_value_key(doc.get("_id", MISSING))
    suffix: bytes | None = None
    keys: list[bytes] = []
    for spec in specs:
        fields = spec.fields
        if fields == _ID:
            keys.append(id_key)
            continue
        if len(fields) < 2 or fields[-2:] != _SUFFIX:
            keys.append(spec.key(doc))
            continue
        if suffix is None:
            suffix = encode_value_key(doc.get("_creation_time", MISSING)) + id_key
        if len(fields) == 2:
            keys.append(suffix)
        elif len(fields) == 3:
            keys.append(encode_value_key(field_value(doc, fields[0])) + suffix)
        else:
            prefix = b"".join(encode_value_key(field_value(doc, f)) for f in fields[:-2])
            keys.append(prefix + suffix)
    return tuple(keys)


def key_doc_id(key: bytes) -> str:
    """The id of the document an index key belongs to.

    Every index's last field is ``_id``, so a key ends with the id's encoding: the string
    tag, the id, a NUL. Ids are base32 text, which holds neither the tag byte nor a NUL,
    so the last tag byte starts it. (The published indexes keep only their keys: a map
    from key to id beside them would cost ~40 bytes per key.)
    """
    return key[key.rindex(0x10) + 1 : -1].decode()


@dataclass(slots=True)
class Index:
    """The published entries of one index: its sorted keys (each names its document,
    :func:`key_doc_id`)."""

    spec: IndexSpec
    keys: SortedKeys = field(default_factory=SortedKeys)

    def add(self, key: bytes) -> None:
        """Add ``key`` (not present)."""
        self.keys.add(key)

    def remove(self, key: bytes) -> None:
        self.keys.discard(key)

    def __len__(self) -> int:
        return len(self.keys)

    def doc_ids(self) -> Iterator[str]:
        """The ids of the indexed documents, in index order."""
        for key in self.keys:
            yield key_doc_id(key)
