"""A reactor server for client-js's tests.

Opens a project (default: the repository's tests/projects/chat) on a SQLite file and
serves it on 127.0.0.1, printing ``PORT <n>`` once it listens. Runs until killed. Auth is
read from REACTOR_AUTH_* as in production.

    python client-js/test/server.py --db /tmp/x/data.db [--port 0] [--ping-interval 15]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from reactor import Engine
from reactor.server.app import ServerConfig
from reactor.sync.worker import SyncLimits
from reactor.testing import running_server

ROOT = Path(__file__).resolve().parents[2]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", default=str(ROOT / "tests" / "projects" / "chat"))
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ping-interval", type=float, default=15.0)
    parser.add_argument("--static", default=None, help="a folder served at / (the example page)")
    opts = parser.parse_args()
    engine = await Engine.open(opts.project, database=f"sqlite:///{Path(opts.db).resolve()}")
    config = ServerConfig(
        admin_key="client-js-admin",
        sync=SyncLimits(ping_interval=opts.ping_interval),
        static_dir=opts.static,
        shutdown_timeout=1.0,
    )
    try:
        async with running_server(engine, config, port=opts.port) as url:
            print(f"PORT {urlsplit(url).port}", flush=True)
            await asyncio.Event().wait()  # until killed (uvicorn acts on SIGTERM/SIGINT)
    finally:
        await engine.close()


if __name__ == "__main__":
    asyncio.run(main())
