"""``reactor run PATH [ARGS_JSON]``: run one function and print its result."""

from __future__ import annotations

import argparse
import json
from typing import Any

from reactor.cli.common import (
    CliError,
    ProgressBar,
    database_url,
    is_cluster_url,
    print_json,
    project_dir,
    run_async,
    running_server,
    stored_admin_key,
)
from reactor.cli.remote import call_function


def parse_args_json(text: str | None) -> dict[str, Any]:
    """``ARGS_JSON`` (Convex JSON) as an argument object."""
    from reactor.values import from_json

    if text is None:
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"ARGS_JSON is not valid JSON: {exc}") from None
    value = from_json(raw)
    if not isinstance(value, dict):
        raise CliError('ARGS_JSON must be a JSON object, e.g. \'{"name": "x"}\'')
    return value


def cmd_run(args: argparse.Namespace) -> int:
    fn_args = parse_args_json(args.args)
    if args.url:
        print_json(call_function(args.url, stored_admin_key(args), args.path, fn_args))
        return 0
    root = project_dir(args)
    url = database_url(args, root)
    server = running_server(root, url)
    if server is not None:  # the server owns the database: ask it
        key = stored_admin_key(args)
        print_json(call_function(str(server["url"]), key, args.path, fn_args))
        return 0

    async def go() -> int:
        from reactor.engine import Engine, FunctionKind

        # The project's code runs with its schema, so push it first (as dev and serve do).
        # A one-shot command is not the deployment: it runs no scheduled jobs or crons
        # (jobs this function schedules run under `serve`/`dev`).
        async with await Engine.open_pushed(
            root, url, progress=ProgressBar(), jobs=False, cluster=is_cluster_url(url)
        ) as engine:
            fn = engine.resolve(args.path)
            if fn.kind is FunctionKind.QUERY:
                result = await engine.query(fn, fn_args)
            elif fn.kind is FunctionKind.MUTATION:
                result = await engine.mutation(fn, fn_args)
            else:
                result = await engine.action(fn, fn_args)
        print_json(result)
        return 0

    return run_async(go())
