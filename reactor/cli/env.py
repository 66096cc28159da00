"""``reactor env set|get|list|unset``: deployment environment variables for actions."""

from __future__ import annotations

import argparse

from reactor.cli.common import (
    CliError,
    database_url,
    is_cluster_url,
    project_dir,
    refuse_if_served,
    run_async,
    say,
    stored_admin_key,
)
from reactor.cli.remote import admin_json


def cmd_env(args: argparse.Namespace) -> int:
    if args.url:
        return _env_remote(args)
    root = project_dir(args)
    url = database_url(args, root)
    if args.env_command in ("set", "unset"):
        refuse_if_served(root, url, f"env {args.env_command}")

    async def go() -> int:
        # The database alone, not an Engine: no project code, no scheduler.
        from reactor.ops.schema_push import open_database
        from reactor.platform.env import read_env, write_env

        db = await open_database(url, cluster=is_cluster_url(url))
        try:
            if args.env_command == "set":
                await write_env(db, args.name, args.value)
                say(f"set {args.name}")
            elif args.env_command == "unset":
                if await write_env(db, args.name, None):
                    say(f"unset {args.name}")
                else:
                    say(f"{args.name} was not set")
            else:
                _show(args, read_env(db))
        finally:
            await db.close()
        return 0

    return run_async(go())


def _show(args: argparse.Namespace, env: dict[str, str]) -> None:
    if args.env_command == "get":
        if args.name not in env:
            raise CliError(f"environment variable {args.name} is not set")
        say(env[args.name])
    else:
        for name, value in sorted(env.items()):
            say(f"{name}={value}")


def _env_remote(args: argparse.Namespace) -> int:
    """The same through ``/api/admin/env`` of a running server."""
    url, key = args.url, stored_admin_key(args)
    if args.env_command == "set":
        body = {"name": args.name, "value": args.value}
        admin_json(url, key, "POST", "/api/admin/env/set", body)
        say(f"set {args.name}")
    elif args.env_command == "unset":
        reply = admin_json(url, key, "POST", "/api/admin/env/unset", {"name": args.name})
        say(f"unset {args.name}" if reply.get("existed") else f"{args.name} was not set")
    else:
        env = admin_json(url, key, "GET", "/api/admin/env").get("env")
        if not isinstance(env, dict):
            raise CliError(f"{url} answered an unexpected environment listing")
        _show(args, {str(k): str(v) for k, v in env.items()})
    return 0
