"""Durable write throughput: reactor versus a raw sqlite3 loop, same durability.

Both sides insert small single documents with one secondary index into a SQLite file in
WAL mode with ``synchronous=FULL``, each insert durable before it is acknowledged.
reactor serves 16 concurrent callers (``engine.mutation``) and groups concurrent commits
into one transaction; the raw loop does one transaction per insert, the way an
application without group commit would. Target: reactor ≥ 1.0× raw.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness
from reactor import Engine


def raw_sqlite(path: Path, inserts: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE items (id TEXT PRIMARY KEY, grp INTEGER, n INTEGER, text TEXT)")
    conn.execute("CREATE INDEX items_by_group ON items (grp)")
    start = time.perf_counter()
    for i in range(inserts):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO items VALUES (?, ?, ?, ?)", (f"id{i}", i % 100, i, "x"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return inserts / elapsed


async def reactor_inserts(path: Path, inserts: int, callers: int) -> tuple[float, int]:
    async with Engine.open(harness.PROJECT, database=f"sqlite:///{path}") as engine:
        per = inserts // callers

        async def caller(k: int) -> None:
            for i in range(per):
                await engine.mutation("items:add", {"group": k, "n": i})

        harness.settle()
        batches = engine.db.committer.batches
        start = time.perf_counter()
        await asyncio.gather(*(caller(k) for k in range(callers)))
        elapsed = time.perf_counter() - start
        return per * callers / elapsed, engine.db.committer.batches - batches


def main() -> dict[str, Any]:
    inserts = 4_000 if not harness.quick() else 800
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_sqlite(Path(tmp) / "raw.db", inserts)
        ours, batches = asyncio.run(reactor_inserts(Path(tmp) / "reactor.db", inserts, 16))
        ours_1, _ = asyncio.run(reactor_inserts(Path(tmp) / "reactor1.db", inserts // 4, 1))
    print(
        harness.table(
            "Durable single-document inserts (WAL, synchronous=FULL)",
            ["system", "callers", "inserts/s"],
            [
                ["raw sqlite3, one transaction per insert", 1, raw],
                ["reactor", 1, ours_1],
                ["reactor (group commit)", 16, ours],
            ],
        )
    )
    print(
        f"reactor: {inserts} inserts in {batches} durable batches "
        f"({inserts / max(batches, 1):.1f} per batch)"
    )
    targets = [harness.target("reactor (16 callers) / raw sqlite3", ours / raw, 1.0)]
    result = {
        "raw_inserts_per_s": raw,
        "reactor_inserts_per_s": ours,
        "reactor_single_caller_inserts_per_s": ours_1,
        "inserts": inserts,
        "batches": batches,
        "targets": targets,
    }
    harness.save("write_throughput", result)
    return result


if __name__ == "__main__":
    main()
