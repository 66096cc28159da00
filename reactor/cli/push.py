"""``reactor push``: push the project's schema.py to a database, or to a running server."""

from __future__ import annotations

import argparse

from reactor.cli.common import (
    CliError,
    ProgressBar,
    database_url,
    is_cluster_url,
    project_dir,
    refuse_if_served,
    run_async,
    say,
    stored_admin_key,
)
from reactor.cli.remote import RemoteError, admin_json
from reactor.ops.schema_push import PushPlan, PushRefused


def cmd_push(args: argparse.Namespace) -> int:
    if args.url:
        return _push_remote(args)
    root = project_dir(args)
    url = database_url(args, root)
    if not args.dry_run:
        refuse_if_served(root, url, "push (reactor dev pushes by itself)")

    async def go() -> int:
        from reactor.engine import load_project
        from reactor.ops.schema_push import open_database, push_schema

        project = load_project(root)
        db = await open_database(url, cluster=is_cluster_url(url))
        try:
            plan = await push_schema(
                db, project.schema, dry_run=args.dry_run, progress=ProgressBar()
            )
        finally:
            await db.close()
        if args.dry_run:
            say("dry run: nothing was changed")
        say(plan.report())
        return 0

    return run_async(go())


def _push_remote(args: argparse.Namespace) -> int:
    """``POST /api/admin/push`` with the project's schema; the server keeps its functions."""
    from reactor.engine import load_project

    if args.database:
        raise CliError("--database and --url exclude each other (--url pushes to a server)")
    project = load_project(project_dir(args))
    body = {
        "schema": project.schema.to_json() if project.schema is not None else None,
        "dryRun": bool(args.dry_run),
    }
    try:
        reply = admin_json(args.url, stored_admin_key(args), "POST", "/api/admin/push", body)
    except RemoteError as exc:
        plan = exc.body.get("plan") if exc.status == 409 and isinstance(exc.body, dict) else None
        if isinstance(plan, dict):
            raise PushRefused(PushPlan.from_json(plan)) from None
        raise
    plan_json = reply.get("plan")
    if not isinstance(plan_json, dict):
        raise CliError(f"{args.url} answered an unexpected push report")
    if args.dry_run:
        say("dry run: nothing was changed")
    say(PushPlan.from_json(plan_json).report())
    return 0
