"""Environment variables in-process: read_env, write_env and ctx.env."""

from __future__ import annotations

from pathlib import Path

import pytest

from reactor import Engine, ValidationError
from reactor.platform.env import read_env, write_env


async def test_env_in_process(tmp_path: Path, project: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    async with await Engine.open_pushed(project, url) as engine:
        assert engine.env_vars() == {}
        await engine.set_env("TOKEN", "t1")
        assert await engine.action("envcheck:read", {"name": "TOKEN"}) == "t1"
        # A write by other code on the same database object is followed too.
        await write_env(engine.db, "TOKEN", "t2")
        assert await engine.action("envcheck:read", {"name": "TOKEN"}) == "t2"
        assert read_env(engine.db) == {"TOKEN": "t2"}
        assert await engine.unset_env("TOKEN") is True
        assert await engine.unset_env("TOKEN") is False
        assert await engine.action("envcheck:read", {"name": "TOKEN"}) is None
        with pytest.raises(ValidationError, match="at most 8192 bytes|longer than"):
            await engine.set_env("BIG", "x" * 9000)
        await engine.set_env("KEEP", "yes")
    async with await Engine.open_pushed(project, url) as engine:
        assert engine.env_vars() == {"KEEP": "yes"}
