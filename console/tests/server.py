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
from pathlib import Path
from urllib.parse import urlsplit

from reactor import Engine
from reactor.server.app import ServerConfig
from reactor.testing import running_server

ROOT = Path(__file__).resolve().parents[2]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--static", required=True)
    opts = parser.parse_args()
    engine = await Engine.open_pushed(ROOT, f"sqlite:///{Path(opts.db).resolve()}")
    config = ServerConfig(
        admin_key=os.environ["REACTOR_ADMIN_KEY"], static_dir=opts.static, shutdown_timeout=1.0
    )
    try:
        async with running_server(engine, config) as url:
            print(f"PORT {urlsplit(url).port}", flush=True)
            await asyncio.Event().wait()  # until killed (uvicorn acts on SIGTERM/SIGINT)
    finally:
        await engine.close()


if __name__ == "__main__":
    asyncio.run(main())
