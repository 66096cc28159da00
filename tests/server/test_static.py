"""ServerConfig.static_dir: a frontend served at / after every API route."""

from __future__ import annotations

from pathlib import Path

import httpx

from reactor import Engine
from reactor.server.app import ServerConfig, create_app
from tests.support.projects import CHAT


async def test_static_files_are_served_after_the_api(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>agent console</h1>")
    (tmp_path / "secret.txt").write_text("outside the folder")
    async with Engine.open(CHAT, database=f"sqlite:///{tmp_path / 'd.db'}") as engine:
        app = create_app(engine, ServerConfig(static_dir=str(site)))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/")).text == "<h1>agent console</h1>"
            index = await client.get("/index.html")
            assert index.headers["content-type"].startswith("text/html")
            assert (await client.get("/version")).text  # API routes win over the mount
            assert (await client.get("/%2e%2e/secret.txt")).status_code == 404
            assert (await client.get("/missing.js")).status_code == 404
