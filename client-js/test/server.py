"""A reactor server for client-js's tests.

Opens a project (default: the repository's tests/projects/chat) on a SQLite file and
serves it on 127.0.0.1, printing ``PORT <n>`` once it listens. Runs until killed. Auth is
read from REACTOR_AUTH_* as in production.

    python client-js/test/server.py --db /tmp/x/data.db [--port 0] [--ping-interval 15]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402

from reactor import Engine  # noqa: E402
from reactor.server.app import ServerConfig, uvicorn_config  # noqa: E402
from reactor.sync.worker import SyncLimits  # noqa: E402


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
    )
    server = uvicorn.Server(uvicorn_config(engine, config, "127.0.0.1", opts.port))
    server.config.timeout_graceful_shutdown = 1
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise SystemExit("the server exited before it started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    try:
        await task
    finally:
        await engine.close()


if __name__ == "__main__":
    asyncio.run(main())
