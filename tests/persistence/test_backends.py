"""One persistence suite, run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reactor import Engine, ValidationError
from reactor.persistence import DocumentRecord, Persistence, open_persistence
from tests.support.projects import CHAT


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'p.db'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def persistence(url: str) -> Iterator[Persistence]:
    p = open_persistence(url)
    yield p
    p.close()


def test_write_load_and_delete(persistence: Persistence) -> None:
    persistence.write(
        [DocumentRecord("t", "a", 1, b"one"), DocumentRecord("t", "b", 1, b"two")],
        {"ts": 1, "tables": {"t": 1}},
    )
    persistence.write([DocumentRecord("t", "a", 2, b"uno"), DocumentRecord("", "b", 2, None)])
    docs = {r.id: (r.table, r.ts, r.value) for r in persistence.load_documents()}
    assert docs == {"a": ("t", 2, b"uno")}
    assert persistence.get_global("tables") == {"t": 1}
    assert persistence.get_global("missing") is None


def test_failed_batch_writes_nothing(persistence: Persistence) -> None:
    persistence.write([DocumentRecord("t", "a", 1, b"one")])
    with pytest.raises(Exception, match="(?i)bind|adapt|type"):
        # The second record is not storable: the whole batch must be rolled back.
        persistence.write(
            [DocumentRecord("t", "c", 2, b"three"), DocumentRecord("t", "d", 2, object())]  # type: ignore[arg-type]
        )
    assert sorted(r.id for r in persistence.load_documents()) == ["a"]


def test_delete_table(persistence: Persistence) -> None:
    persistence.write([DocumentRecord("t", "a", 1, b"1"), DocumentRecord("u", "b", 1, b"2")])
    persistence.delete_table("t")
    assert [r.id for r in persistence.load_documents()] == ["b"]


async def test_engine_round_trip(url: str) -> None:
    async with Engine.open(CHAT, database=url) as eng:
        cid = await eng.mutation("calls:start", {"user_id": "pg", "started_at": 1.0})
        await eng.mutation("messages:append", {"call_id": cid, "role": "user", "text": "hi"})
        await eng.mutation("counters:increment", {"name": "n"})
    async with Engine.open(CHAT, database=url) as eng:
        assert await eng.query("messages:texts", {"call_id": cid}) == ["hi"]
        assert await eng.mutation("counters:increment", {"name": "n"}) == 2


def test_bad_urls_are_explained() -> None:
    with pytest.raises(ValidationError, match="unsupported database URL") as info:
        open_persistence("mysql://x")
    assert info.value.path is None and " at $" not in str(info.value)
    with pytest.raises(ValidationError, match="invalid SQLite URL"):
        open_persistence("sqlite://relative.db")
