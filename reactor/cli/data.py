"""``reactor import`` and ``reactor export``: JSON Lines per table, or a zip of all tables.

Without ``--url`` they work on the database; with ``--url`` through a running server's
``/api/admin/import`` and ``/api/admin/export`` (the same formats).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import zipfile
from pathlib import Path

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
from reactor.cli.remote import admin_call
from reactor.ops.import_export import ImportMode


def _mode(args: argparse.Namespace) -> ImportMode:
    if args.replace:
        return ImportMode.REPLACE
    if args.append:
        return ImportMode.APPEND
    return ImportMode.REFUSE


def cmd_export(args: argparse.Namespace) -> int:
    if args.url:
        return _export_remote(args)
    root = project_dir(args)
    url = database_url(args, root)

    async def go() -> int:
        from reactor.ops.import_export import export_table, export_zip
        from reactor.ops.schema_push import open_database

        db = await open_database(url, cluster=is_cluster_url(url))
        try:
            if args.table:
                db.table(args.table)
                if args.path in (None, "-"):
                    count = export_table(db, args.table, sys.stdout)
                    sys.stdout.flush()
                    say(f"exported {count} document(s) from {args.table}", sys.stderr)
                else:
                    with open(args.path, "w", encoding="utf-8") as out:
                        count = export_table(db, args.table, out)
                    say(f"exported {count} document(s) from {args.table} to {args.path}")
                return 0
            path = args.path or time.strftime("snapshot_%Y%m%d-%H%M%S.zip")
            if path == "-":
                raise CliError("a zip export needs a file: --path FILE.zip")
            counts = export_zip(db, path)
            total = sum(counts.values())
            say(f"exported {total} document(s) from {len(counts)} table(s) to {path}")
            return 0
        finally:
            await db.close()

    return run_async(go())


def cmd_import(args: argparse.Namespace) -> int:
    if args.url:
        return _import_remote(args)
    from reactor.ops.import_export import TableData, read_jsonl, read_zip

    root = project_dir(args)
    url = database_url(args, root)
    refuse_if_served(root, url, "import")
    source = Path(args.path)
    if not source.is_file():
        raise CliError(f"no such file: {args.path}")
    tables: list[TableData]
    if source.suffix == ".zip":
        if args.table:
            tables = [t for t in read_zip(source) if t.name == args.table]
            if not tables:
                raise CliError(f"{args.path} has no table {args.table!r}")
        else:
            tables = read_zip(source)
    else:
        table = args.table or source.name.split(".")[0]
        tables = [read_jsonl(source, table)]
    mode = _mode(args)

    async def go() -> int:
        from reactor.ops.import_export import import_tables
        from reactor.ops.schema_push import open_database

        db = await open_database(url, cluster=is_cluster_url(url))
        try:
            counts = await import_tables(db, tables, mode)
        finally:
            await db.close()
        for table, count in counts.items():
            say(f"imported {count} document(s) into {table}")
        return 0

    return run_async(go())


def _export_remote(args: argparse.Namespace) -> int:
    """``GET /api/admin/export`` (a zip, or one table as JSON Lines with ``--table``)."""
    key = stored_admin_key(args)
    if args.table:
        data = admin_call(args.url, key, "GET", "/api/admin/export", params={"table": args.table})
        count = sum(1 for line in data.splitlines() if line.strip())
        if args.path in (None, "-"):
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
            say(f"exported {count} document(s) from {args.table}", sys.stderr)
        else:
            Path(args.path).write_bytes(data)
            say(f"exported {count} document(s) from {args.table} to {args.path}")
        return 0
    path = args.path or time.strftime("snapshot_%Y%m%d-%H%M%S.zip")
    if path == "-":
        raise CliError("a zip export needs a file: --path FILE.zip")
    data = admin_call(args.url, key, "GET", "/api/admin/export")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            counts = {
                name.partition("/")[0]: sum(1 for line in archive.read(name).splitlines() if line)
                for name in archive.namelist()
                if name.endswith("/documents.jsonl") and not name.startswith("_")
            }
    except zipfile.BadZipFile:
        raise CliError(f"{args.url} did not answer a zip file") from None
    Path(path).write_bytes(data)
    total = sum(counts.values())
    say(f"exported {total} document(s) from {len(counts)} table(s) to {path}")
    return 0


def _import_remote(args: argparse.Namespace) -> int:
    """``POST /api/admin/import`` with the file as the body (JSON Lines or a zip)."""
    source = Path(args.path)
    if not source.is_file():
        raise CliError(f"no such file: {args.path}")
    params = {"mode": _mode(args).value}
    if source.suffix == ".zip":
        content_type = "application/zip"
        if args.table:
            params["table"] = args.table
    else:
        content_type = "application/x-ndjson"
        params["table"] = args.table or source.name.split(".")[0]
    raw = admin_call(
        args.url,
        stored_admin_key(args),
        "POST",
        "/api/admin/import",
        data=source.read_bytes(),
        content_type=content_type,
        params=params,
    )
    try:
        counts = json.loads(raw).get("imported", {})
    except (ValueError, AttributeError):
        raise CliError(f"{args.url} answered an unexpected import report") from None
    for table, count in counts.items():
        say(f"imported {count} document(s) into {table}")
    return 0
