"""A reactor server for the console's browser tests.

Serves the repository's own project (the call center) on a SQLite file with the built
console at ``/``, on 127.0.0.1 at a port the OS picks, and prints ``PORT <n>`` once it
listens. Auth (``REACTOR_AUTH_*``), the development sign-in (``REACTOR_DEV_SIGN_IN``) and
the admin key (``REACTOR_ADMIN_KEY``) come from the environment the test sets.

    python console/tests/server.py --db /tmp/x/data.db --static console/dist
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402

from reactor import Engine  # noqa: E402
from reactor.server.app import ServerConfig, uvicorn_config  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--static", required=True)
    opts = parser.parse_args()
    engine = await Engine.open_pushed(ROOT, f"sqlite:///{Path(opts.db).resolve()}")
    config = ServerConfig(admin_key=os.environ["REACTOR_ADMIN_KEY"], static_dir=opts.static)
    server = uvicorn.Server(uvicorn_config(engine, config, "127.0.0.1", 0))
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
