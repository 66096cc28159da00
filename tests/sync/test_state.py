"""The per-connection state machine, without sockets (a real engine underneath)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from reactor import Engine, ProtocolError
from reactor.sync.protocol import Add, ModifyQuerySet, QueryFailed, QueryUpdated, Remove, Transition
from reactor.sync.state import SyncSession
from reactor.values import ts_from_wire, ts_to_wire


def modify(base: int, new: int, *mods: Add | Remove) -> ModifyQuerySet:
    return ModifyQuerySet(base_version=base, new_version=new, modifications=list(mods))


def updated(query_id: int, value: object) -> QueryUpdated:
    raw = msgspec.Raw(msgspec.json.encode(value))
    return QueryUpdated(query_id=query_id, value=raw, log_lines=[], journal=None)


def value_of(mod: object) -> Any:
    assert isinstance(mod, QueryUpdated)
    return msgspec.json.decode(mod.value)


def add(query_id: int, path: str, args: dict[str, object] | None = None) -> Add:
    return Add(query_id=query_id, udf_path=path, args=[args or {}])


async def built(engine: Engine, session: SyncSession) -> Transition | None:
    """The session's next Transition once every live query has (re-)run."""
    await engine.wait_live_queries_current()
    return session.build_transition()


async def test_transition_versions_and_results(engine: Engine) -> None:
    wakes: list[int] = []
    s = SyncSession(engine, lambda: wakes.append(1))
    s.connect("sess", None)
    assert await built(engine, s) is None  # nothing to say yet
    s.modify_query_set(modify(0, 1, add(0, "counters:value", {"name": "a"})))
    assert wakes
    t = await built(engine, s)
    assert t is not None
    assert (t.start_version.query_set, t.end_version.query_set) == (0, 1)
    assert t.start_version.ts == ts_to_wire(0)
    assert ts_from_wire(t.end_version.ts) == engine.published_ts
    assert t.modifications == [updated(0, None)]
    assert await built(engine, s) is None  # unchanged: nothing re-sent

    await engine.mutation("counters:increment", {"name": "a"})
    t2 = await built(engine, s)
    assert t2 is not None and t2.start_version == t.end_version
    assert [m.query_id for m in t2.modifications] == [0]
    # A write that does not touch the query wakes nobody and sends nothing.
    await engine.mutation("counters:increment", {"name": "zzz"})
    assert await built(engine, s) is None
    s.close()
    assert engine.live_query_count == 0


async def test_base_version_checks_change_nothing_on_error(engine: Engine) -> None:
    s = SyncSession(engine)
    s.connect("sess", None)
    s.modify_query_set(modify(0, 1, add(0, "counters:all")))
    with pytest.raises(ProtocolError, match="BaseVersionMismatch"):
        s.modify_query_set(modify(0, 2, add(1, "counters:all")))
    with pytest.raises(ProtocolError, match="increase"):
        s.modify_query_set(modify(1, 1))
    with pytest.raises(ProtocolError, match="duplicate"):
        s.modify_query_set(modify(1, 2, add(5, "counters:all"), add(0, "counters:all")))
    assert set(s.queries) == {0}  # the bad message added nothing
    with pytest.raises(ProtocolError, match="unknown query"):
        s.modify_query_set(modify(1, 2, Remove(query_id=9)))
    s.modify_query_set(modify(1, 2, Remove(query_id=0), add(0, "counters:all")))
    assert s.query_set_version == 2
    s.close()


async def test_static_errors_are_sent_once(engine: Engine) -> None:
    s = SyncSession(engine)
    s.connect("sess", None)
    s.modify_query_set(modify(0, 1, add(0, "missing:fn"), add(1, "pairs:secret")))
    t = await built(engine, s)
    assert t is not None
    assert all(isinstance(m, QueryFailed) for m in t.modifications)
    s.set_identity(0, None, admin=True)  # admin may see internal queries
    t = await built(engine, s)
    assert t is not None and t.end_version.identity == 1
    assert t.modifications == [updated(1, "internal")]
    with pytest.raises(ProtocolError, match="IdentityVersion"):
        s.set_identity(0, None)
    s.close()


async def test_identity_change_reruns_queries(engine: Engine) -> None:
    s = SyncSession(engine)
    s.connect("sess", None)
    s.modify_query_set(modify(0, 1, add(0, "items:whoami")))
    assert await built(engine, s) is not None
    s.set_identity(0, {"subject": "u1", "issuer": "i", "token_identifier": "i|u1"})
    t = await built(engine, s)
    assert t is not None
    (mod,) = t.modifications
    assert isinstance(mod, QueryUpdated) and value_of(mod)["subject"] == "u1"
    s.close()


async def test_read_your_writes_forces_a_transition(engine: Engine) -> None:
    s = SyncSession(engine)
    s.connect("sess", None)
    s.modify_query_set(modify(0, 1, add(0, "counters:value", {"name": "a"})))
    await built(engine, s)
    _, ts = await engine.run_mutation("counters:increment", {"name": "zzz"}, None)
    s.mutation_done(ts)
    t = await built(engine, s)
    assert t is not None and t.modifications == []
    assert ts_from_wire(t.end_version.ts) >= ts
    s.close()


async def test_connect_refuses_future_timestamps(engine: Engine) -> None:
    s = SyncSession(engine)
    with pytest.raises(ProtocolError, match="newer"):
        s.connect("sess", engine.published_ts + 1)
    s.connect("sess", engine.published_ts)
    with pytest.raises(ProtocolError, match="already"):
        s.connect("sess", None)


async def test_paginated_query_journal_round_trips(engine: Engine) -> None:
    await engine.mutation("items:add_many", {"ns": [1.0, 2.0, 3.0, 4.0], "tag": "t"})
    s = SyncSession(engine)
    s.connect("sess", None)
    s.modify_query_set(modify(0, 1, add(0, "items:page", {"num_items": 2.0, "cursor": None})))
    t = await built(engine, s)
    assert t is not None
    (mod,) = t.modifications
    assert isinstance(mod, QueryUpdated) and mod.journal is not None
    assert value_of(mod)["page"] == [1.0, 2.0]
    # Resubscribing with the journal (as after a reconnect) keeps the page end fixed.
    await engine.mutation("items:add", {"n": 1.5, "tag": "t"})
    s2 = SyncSession(engine)
    s2.connect("sess2", None)
    s2.modify_query_set(
        modify(
            0,
            1,
            Add(
                query_id=0,
                udf_path="items:page",
                args=[{"num_items": 2.0, "cursor": None}],
                journal=mod.journal,
            ),
        )
    )
    t2 = await built(engine, s2)
    assert t2 is not None
    (mod2,) = t2.modifications
    assert isinstance(mod2, QueryUpdated) and value_of(mod2)["page"] == [1.0, 1.5, 2.0]
    with pytest.raises(ProtocolError, match="journal"):
        s2.modify_query_set(
            modify(1, 2, Add(query_id=1, udf_path="items:page", args=[{}], journal="{bad"))
        )
    s.close()
    s2.close()


async def test_a_big_query_set_change_is_applied_in_steps_and_sent_whole(engine: Engine) -> None:
    s = SyncSession(engine)
    s.connect("sess", None)
    s.modify_query_set(modify(0, 1, add(0, "counters:value", {"name": "first"})))
    first = await built(engine, s)
    assert first is not None
    adds = [add(i, "counters:value", {"name": f"c{i}"}) for i in range(1, 101)]
    steps = s.modify_query_set_steps(modify(1, 2, *adds), step=10)
    next(steps)
    # Half applied: subscribed so far, but no Transition may show a partial query set,
    # even once the queries that are subscribed have run.
    assert 0 < len(s.queries) < 101
    await engine.wait_live_queries_current()
    assert not s.wants_transition and s.build_transition() is None
    assert sum(1 for _ in steps) == 8  # nine pauses between ten steps in all
    assert len(s.queries) == 101 and s.query_set_version == 2
    # Results encoded ahead in steps are what the Transition carries.
    await engine.wait_live_queries_current()
    assert sum(1 for _ in s.encode_results(step=25)) == 4
    t = s.build_transition()
    assert t is not None and t.end_version.query_set == 2
    assert sorted(m.query_id for m in t.modifications) == list(range(1, 101))
    assert all(value_of(m) is None for m in t.modifications)
    # A bad message still changes nothing: it is checked before the first step.
    with pytest.raises(ProtocolError, match="duplicate"):
        next(s.modify_query_set_steps(modify(2, 3, add(200, "counters:all"), add(5, "x:y"))))
    assert len(s.queries) == 101 and s.query_set_version == 2
    s.close()
