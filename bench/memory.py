"""Memory and open time of a large database: 200,000 and 1,000,000 documents of ~150 bytes.

For each size the benchmark builds a temporary SQLite database holding the rows a run of
``items:add`` inserts would store (same encoding, same table registry), then measures in
fresh child processes, so that no heap is shared between figures:

- ``select``: a bare ``sqlite3`` ``SELECT`` of the same rows into a list (the floor any
  open must pay to read the file): time and resident memory held;
- ``open``: ``Engine.open`` of the bench project on that file: time, resident memory
  growth per document against the document's encoded size, the peak during the open,
  where the bytes of the loaded state go (``sys.getsizeof`` over the live structures),
  then a sanity figure for reads and writes at that size: a point query by id
  (``items:get``), an index query (``items:by_group``) and a durable commit
  (``items:add``), p50/p99 over sequential calls, and the pause of one full garbage
  collection (the event loop waits for it), as opened and as ``reactor serve`` settles
  the collector, with the objects the collector tracks.

Targets (#17 item 2): resident memory per document <= 2.5 x its encoded size; opening
1,000,000 documents <= 5 s on this machine (an absolute goal: the issue states it so);
the ratios of open time to the bare SELECT and of query/commit latency at 1M to 200k are
printed for information. ``--profile N`` instead runs one open of N documents under
cProfile and prints the top functions (for bench/FINDINGS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness
from reactor.database.layers import KEYS, VALUE

NAME = "memory"
TEXT = "m" * 53  # pads a document to ~150 encoded bytes
CHUNK = 50_000


def sizes() -> list[int]:
    return [20_000, 50_000] if harness.quick() else [200_000, 1_000_000]


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """The highest resident set size this process has had (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# -- building ------------------------------------------------------------------------------


def build(path: Path, count: int) -> dict[str, Any]:
    """Fill a fresh database file with ``count`` items; returns the build figures."""
    from reactor import Engine
    from reactor.persistence import DocumentRecord
    from reactor.persistence.sqlite import SqlitePersistence
    from reactor.values import Int64, dumps, encode_id, new_internal_id, normalize

    async def register_tables() -> None:
        async with Engine.open(harness.PROJECT, f"sqlite:///{path}"):
            pass

    start = time.perf_counter()
    asyncio.run(register_tables())  # the table registry, exactly as a server writes it
    store = SqlitePersistence(str(path))
    number = int(store.get_global("tables")["items"])
    created = time.time() * 1000
    ts = time.time_ns()
    for first in range(0, count, CHUNK):
        records = []
        for i in range(first, min(count, first + CHUNK)):
            doc_id = encode_id(number, new_internal_id())
            doc = normalize(
                {
                    "_id": doc_id,
                    "_creation_time": created + i * 0.001,
                    "group": Int64(i % 100),
                    "n": Int64(i),
                    "text": TEXT,
                }
            )
            records.append(DocumentRecord("items", doc_id, ts + i, dumps(doc)))
        store.write(records)
    store.close()
    conn = sqlite3.connect(path)
    (encoded,) = conn.execute("SELECT avg(length(value)) FROM documents").fetchone()
    conn.close()
    return {
        "build_s": time.perf_counter() - start,
        "encoded_bytes_per_doc": float(encoded),
        "file_bytes": path.stat().st_size,
    }


# -- the child processes -------------------------------------------------------------------


def child_select(path: Path) -> dict[str, Any]:
    gc.collect()
    rss0 = rss_bytes()
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT table_name, id, ts, value FROM documents").fetchall()
    elapsed = time.perf_counter() - start
    gc.collect()
    held = rss_bytes() - rss0
    count = len(rows)
    conn.close()
    return {"select_s": elapsed, "rows": count, "rss_bytes_held": held}


def breakdown(engine: Any) -> dict[str, float]:
    """Bytes per document of the loaded state, by structure (``sys.getsizeof``)."""
    base = engine.db.base
    docs = base.docs
    n = max(1, len(docs))
    sample = list(docs.items())[:: max(1, len(docs) // 2000)]
    per: dict[str, float] = {
        "id string (docs key)": 0.0,
        "entry tuple": 0.0,
        "encoded values": 0.0,
        "tuple of index keys": 0.0,
        "index keys (bytes)": 0.0,
    }
    for doc_id, entry in sample:
        per["id string (docs key)"] += sys.getsizeof(doc_id)
        per["entry tuple"] += sys.getsizeof(entry)
        per["encoded values"] += sys.getsizeof(entry[VALUE])
        per["tuple of index keys"] += sys.getsizeof(entry[KEYS])
        per["index keys (bytes)"] += sum(sys.getsizeof(k) for k in entry[KEYS])
    per = {k: v / len(sample) for k, v in per.items()}
    per["docs dict (hash table)"] = sys.getsizeof(docs) / n
    sorted_lists = 0
    for index in base.indexes.values():
        chunks = index.keys._chunks
        sorted_lists += sys.getsizeof(chunks) + sum(sys.getsizeof(c) for c in chunks)
        sorted_lists += sys.getsizeof(index.keys._maxes)
    per["SortedKeys chunk lists"] = sorted_lists / n
    per["total"] = sum(per.values())
    return per


async def child_open(path: Path, calls: int) -> dict[str, Any]:
    from reactor import Engine
    from reactor.cli.serve import settle_collector

    gc.collect()
    rss0 = rss_bytes()
    start = time.perf_counter()
    engine = await Engine.open(harness.PROJECT, f"sqlite:///{path}")
    open_s = time.perf_counter() - start
    try:
        # A full collection's pause at this size (the event loop waits for every one),
        # once the collector has stopped tracking what it can (the first collection after
        # the open untracks the entries); then as a server has it, with what was alive
        # after the open frozen (reactor.cli.serve.settle_collector).
        gc.collect()
        collect = time.perf_counter()
        gc.collect()
        full_collection_s = time.perf_counter() - collect
        settle_collector()
        collect = time.perf_counter()
        gc.collect()
        settled_collection_s = time.perf_counter() - collect
        gc.unfreeze()
        held = rss_bytes() - rss0
        peak = peak_rss_bytes() - rss0
        count = len(engine.db.base.docs)
        parts = breakdown(engine)
        ids = list(engine.db.base.docs)[:: max(1, count // calls)][:calls]

        async def timed(call: Any, name: str, args: list[dict[str, Any]]) -> list[float]:
            out = []
            for a in args:
                t = time.perf_counter()
                await call(name, a)
                out.append(time.perf_counter() - t)
            return out

        harness.settle()
        get = await timed(engine.query, "items:get", [{"id": i} for i in ids])
        by_group = await timed(
            engine.query, "items:by_group", [{"group": k % 100} for k in range(calls)]
        )
        add = await timed(
            engine.mutation, "items:add", [{"group": k % 100, "n": k} for k in range(calls)]
        )
    finally:
        await engine.close()
    return {
        "open_s": open_s,
        "documents": count,
        "rss_bytes_held": held,
        "peak_rss_bytes_during_open": peak,
        "full_collection_ms": full_collection_s * 1000,
        "settled_full_collection_ms": settled_collection_s * 1000,
        "tracked_objects": len(gc.get_objects()),
        "bytes_per_doc_by_structure": parts,
        "point_query": harness.summary_ms(get),
        "index_query": harness.summary_ms(by_group),
        "durable_commit": harness.summary_ms(add),
    }


def in_child(mode: str, path: Path, calls: int = 200) -> dict[str, Any]:
    """Run one measurement in a fresh Python process; its JSON result."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--child", mode, str(path), "--calls", str(calls)],
        cwd=harness.ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory child {mode} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def profile_open(count: int) -> None:
    """cProfile one ``Engine.open`` of ``count`` documents; print the top functions."""
    from reactor.database.database import Database
    from reactor.persistence.sqlite import SqlitePersistence
    from reactor.runtime.registry import load_project

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.db"
        build(path, count)
        # Engine.open loads in a worker thread and cProfile sees the calling thread only,
        # so the same load (Database.load) is profiled here in this thread.
        profiler = cProfile.Profile()
        project = load_project(harness.PROJECT)
        db = Database(SqlitePersistence(str(path)), project.schema)
        start = time.perf_counter()
        profiler.enable()
        db.load()
        profiler.disable()
        print(f"Database.load of {count:,} documents: {time.perf_counter() - start:.2f} s")
        db.persistence.close()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
        print(out.getvalue())


def main() -> dict[str, Any]:
    rows = []
    result: dict[str, Any] = {"sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for count in sizes():
            path = Path(tmp) / f"items_{count}.db"
            built = build(path, count)
            select = in_child("select", path)
            opened = in_child("open", path)
            encoded = built["encoded_bytes_per_doc"]
            per_doc = opened["rss_bytes_held"] / count
            figures = {
                **built,
                "select": select,
                "open": opened,
                "rss_bytes_per_doc": per_doc,
                "rss_per_doc_over_encoded": per_doc / encoded,
                "open_over_select": opened["open_s"] / select["select_s"],
            }
            result["sizes"][str(count)] = figures
            rows.append(
                [
                    f"{count:,}",
                    encoded,
                    per_doc,
                    per_doc / encoded,
                    opened["peak_rss_bytes_during_open"] / count,
                    select["select_s"],
                    opened["open_s"],
                    opened["open_s"] / select["select_s"],
                    opened["full_collection_ms"],
                    opened["settled_full_collection_ms"],
                    opened["tracked_objects"],
                ]
            )
            os.unlink(path)
    print(
        harness.table(
            "Opening a database: resident memory and time (each figure from a fresh process)",
            [
                "documents",
                "encoded B/doc",
                "RSS B/doc",
                "RSS / encoded",
                "peak B/doc",
                "bare SELECT s",
                "Engine.open s",
                "open / SELECT",
                "full GC ms",
                "full GC ms, settled",
                "GC-tracked objects",
            ],
            rows,
        )
    )
    small, large = (result["sizes"][str(c)] for c in sizes())
    lat_rows = []
    for what in ("point_query", "index_query", "durable_commit"):
        a, b = small["open"][what], large["open"][what]
        lat_rows.append(
            [what.replace("_", " "), a["p50_ms"], a["p99_ms"], b["p50_ms"], b["p99_ms"]]
        )
    lo, hi = sizes()
    print(
        harness.table(
            "Sanity: sequential calls after the open (ms)",
            ["call", f"p50 at {lo:,}", f"p99 at {lo:,}", f"p50 at {hi:,}", f"p99 at {hi:,}"],
            lat_rows,
        )
    )
    print(
        harness.table(
            f"Where the bytes go at {hi:,} documents (sys.getsizeof, bytes per document)",
            ["structure", "bytes/doc"],
            list(large["open"]["bytes_per_doc_by_structure"].items()),
        )
    )
    result["ratios"] = {
        "point_query_p50_large_over_small": large["open"]["point_query"]["p50_ms"]
        / small["open"]["point_query"]["p50_ms"],
        "commit_p50_large_over_small": large["open"]["durable_commit"]["p50_ms"]
        / small["open"]["durable_commit"]["p50_ms"],
    }
    result["targets"] = [
        harness.target(
            f"RSS per document / encoded size at {hi:,}",
            large["rss_per_doc_over_encoded"],
            2.5,
            higher_is_better=False,
        ),
        harness.target(
            f"open of {hi:,} documents (s)", large["open"]["open_s"], 5.0, higher_is_better=False
        ),
    ]
    result["chart"] = {
        "title": "Resident memory per document after open",
        "labels": [f"{c:,} docs: {k}" for c in sizes() for k in ("encoded", "RSS")],
        "values": [
            v
            for c in sizes()
            for v in (
                result["sizes"][str(c)]["encoded_bytes_per_doc"],
                result["sizes"][str(c)]["rss_bytes_per_doc"],
            )
        ],
        "unit": "bytes",
    }
    harness.save(NAME, result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--profile", type=int, metavar="DOCUMENTS")
    args = parser.parse_args()
    if args.child:
        mode, file = args.child
        if mode == "select":
            out = child_select(Path(file))
        else:
            out = asyncio.run(child_open(Path(file), args.calls))
        print(json.dumps(out))
    elif args.profile:
        profile_open(args.profile)
    else:
        main()
