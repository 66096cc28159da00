"""The ``reactor`` command line (also ``python -m reactor``).

Every command works on a project folder (``--dir``, default: the current directory) and
its database (``--database``, default ``sqlite:///<project>/.reactor/data.db``)::

    reactor dev                      serve, watch, push and reload on change, codegen
    reactor serve                    production server
    reactor push [--dry-run]         push schema.py to the database
    reactor run PATH [ARGS_JSON]     run a function once, print its result
    reactor codegen [--out DIR]      TypeScript types and function references
    reactor import PATH / export     JSON Lines per table, or a zip of all tables
    reactor env set|get|list|unset   environment variables for actions

``push``, ``import``/``export`` and ``env`` also work on a running server with ``--url URL``
(its admin endpoints, :mod:`reactor.server.admin`), as ``run`` does.

User mistakes (a bad flag, a missing folder, broken project code, a refused push) end
with a one-line ``error: ...`` on stderr and a non-zero exit status, never a traceback.
The reference in ``docs/cli.md`` is generated from this parser (:func:`reference`).

One module per command group: :mod:`~reactor.cli.serve` (dev, serve),
:mod:`~reactor.cli.push`, :mod:`~reactor.cli.run`, :mod:`~reactor.cli.data` (import,
export), :mod:`~reactor.cli.env`, :mod:`~reactor.cli.codegen`; what they share is in
:mod:`~reactor.cli.common`, the HTTP client of ``--url`` in :mod:`~reactor.cli.remote`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from reactor.cli.codegen import cmd_codegen
from reactor.cli.common import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    PROG,
    CliError,
    describe_error,
    say,
)
from reactor.cli.data import cmd_export, cmd_import
from reactor.cli.env import cmd_env
from reactor.cli.push import cmd_push
from reactor.cli.run import cmd_run
from reactor.cli.serve import cmd_dev, cmd_serve
from reactor.ops.schema_push import PushRefused

__all__ = ["CliError", "build_parser", "main", "reference", "update_reference"]


# -- the parser --------------------------------------------------------------------------------


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help at a fixed width, so ``docs/cli.md`` does not depend on the terminal."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=92)


def _project_options(parser: argparse.ArgumentParser, *, database: bool = True) -> None:
    parser.add_argument(
        "--dir", metavar="D", help="the project folder (default: the current directory)"
    )
    if database:
        parser.add_argument(
            "--database",
            metavar="URL",
            help="sqlite:///FILE or postgresql://... "
            "(default: sqlite:///<project>/.reactor/data.db)",
        )


def _remote_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", metavar="URL", help="a running server, e.g. http://127.0.0.1:3210")
    parser.add_argument(
        "--admin-key",
        metavar="K",
        help="the server's admin key "
        "(default: $REACTOR_ADMIN_KEY, else <project>/.reactor/admin_key)",
    )


def _listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="interface to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port (default: %(default)s; 0 picks a free one)",
    )
    parser.add_argument(
        "--site-port",
        type=int,
        metavar="PORT",
        help="also serve the HTTP actions at the root of this port (the site origin)",
    )
    parser.add_argument(
        "--static",
        metavar="DIR",
        help="also serve the static files in DIR at / (a built frontend), after the API",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="also allow browser calls from ORIGIN, e.g. http://localhost:5173 (repeatable; "
        "* allows any; default: the server's own origin and $REACTOR_CORS_ORIGINS)",
    )
    parser.add_argument(
        "--function-timeout",
        type=float,
        metavar="S",
        help="time limit of a query or mutation in seconds "
        "(default: $REACTOR_FUNCTION_TIMEOUT or 1)",
    )
    parser.add_argument(
        "--action-timeout",
        type=float,
        metavar="S",
        help="time limit of an action in seconds (default: $REACTOR_ACTION_TIMEOUT or 600)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="open connections at most; more are refused with 503 (default: 1000)",
    )
    parser.add_argument(
        "--schema-diff",
        action="store_true",
        help="print every schema change a push makes (default: a summary when there are many)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``reactor`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=_Formatter,
        description="reactor: a self-hosted reactive document store.",
        epilog="Run 'reactor COMMAND --help' for the options of one command.",
    )
    from reactor import __version__

    parser.add_argument("--version", action="version", version=f"reactor {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help, description=description, formatter_class=_Formatter
        )

    dev = add(
        "dev",
        "serve, watch schema.py and functions/, push and reload on change",
        "Serve the project for development: push its schema, start the server, regenerate\n"
        "client types, then watch schema.py and functions/ and push and reload on every\n"
        "change without dropping connected clients. Broken code is reported and the last\n"
        "good version keeps serving.",
    )
    _project_options(dev)
    _listen_options(dev)
    dev.set_defaults(handler=cmd_dev)

    serve = add(
        "serve",
        "run the production server",
        "Run the production server (uvicorn). The project's schema is pushed first; a\n"
        "breaking schema change stops the start with a report.",
    )
    _project_options(serve)
    _listen_options(serve)
    serve.set_defaults(handler=cmd_serve)

    push = add(
        "push",
        "push schema.py to the database",
        "Validate every existing document against the project's schema, build and backfill\n"
        "new indexes, drop removed ones and record the schema. A breaking change is refused\n"
        "with a report of the offending documents. With --url, the schema goes to a running\n"
        "server, which keeps its functions.",
    )
    _project_options(push)
    _remote_options(push)
    push.add_argument(
        "--dry-run", action="store_true", help="report what would change; change nothing"
    )
    push.set_defaults(handler=cmd_push)

    run = add(
        "run",
        "run a function once and print its result",
        "Run any function (internal ones too) and print its result as JSON. int64 values\n"
        'print as JSON integers; ARGS_JSON is Convex JSON ({"$integer": ...} for int64).',
    )
    run.add_argument("path", metavar="PATH", help='function path, e.g. "messages:list"')
    run.add_argument("args", metavar="ARGS_JSON", nargs="?", help="arguments as a JSON object")
    _project_options(run)
    _remote_options(run)
    run.set_defaults(handler=cmd_run)

    codegen = add(
        "codegen",
        "generate TypeScript types and function references",
        "Write dataModel.d.ts, api.d.ts and api.js for client-js (see docs/cli.md).",
    )
    _project_options(codegen, database=False)
    codegen.add_argument(
        "--out", metavar="DIR", help="output folder (default: <project>/_generated)"
    )
    codegen.set_defaults(handler=cmd_codegen)

    imp = add(
        "import",
        "import JSON Lines or an export zip, ids preserved",
        "Import documents with their _id and _creation_time: a .jsonl file into one table\n"
        "(--table, default: the file name), or every table of a zip made by 'export'.",
    )
    imp.add_argument("path", metavar="PATH", help="a .jsonl file or a .zip export")
    imp.add_argument("--table", metavar="T", help="the table to import into (one table of a zip)")
    mode = imp.add_mutually_exclusive_group()
    mode.add_argument("--replace", action="store_true", help="delete the table's documents first")
    mode.add_argument("--append", action="store_true", help="keep the table's documents")
    _project_options(imp)
    _remote_options(imp)
    imp.set_defaults(handler=cmd_import)

    exp = add(
        "export",
        "export tables as JSON Lines or a zip of all",
        "Export every user table into a zip (<table>/documents.jsonl), or one table as\n"
        "JSON Lines with --table.",
    )
    exp.add_argument(
        "--path",
        metavar="OUT",
        help="output file (default: snapshot_<time>.zip; stdout for --table)",
    )
    exp.add_argument("--table", metavar="T", help="export only this table, as JSON Lines")
    _project_options(exp)
    _remote_options(exp)
    exp.set_defaults(handler=cmd_export)

    env = add(
        "env",
        "manage environment variables for actions",
        "Deployment environment variables, stored in the database (_env) and visible to\n"
        "actions as ctx.env.",
    )
    env_commands = env.add_subparsers(dest="env_command", metavar="ACTION", required=True)
    for name, help_text in (
        ("set", "set NAME to VALUE"),
        ("get", "print the value of NAME"),
        ("list", "print every NAME=VALUE"),
        ("unset", "remove NAME"),
    ):
        sub = env_commands.add_parser(
            name,
            help=help_text,
            description=help_text.capitalize() + ".",
            formatter_class=_Formatter,
        )
        if name != "list":
            sub.add_argument("name", metavar="NAME")
        if name == "set":
            sub.add_argument("value", metavar="VALUE")
        _project_options(sub)
        _remote_options(sub)
        sub.set_defaults(handler=cmd_env)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.append(sub)
                found += _subparsers(sub)
    return found


def reference() -> str:
    """The generated command reference (the ``--help`` of every command) in Markdown."""
    parser = build_parser()
    parts = []
    for sub in [parser, *_subparsers(parser)]:
        parts.append(f"### `{sub.prog}`\n\n```text\n{sub.format_help().rstrip()}\n```\n")
    return "\n".join(parts)


REFERENCE_BEGIN = "<!-- BEGIN GENERATED REFERENCE (reactor.cli.update_reference) -->"
REFERENCE_END = "<!-- END GENERATED REFERENCE -->"


def update_reference(path: str | Path = "docs/cli.md") -> bool:
    """Rewrite the generated section of ``docs/cli.md``; returns whether it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start = text.index(REFERENCE_BEGIN) + len(REFERENCE_BEGIN)
    end = text.index(REFERENCE_END)
    new = text[:start] + "\n\n" + reference() + "\n" + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


# -- entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``reactor`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    root: Path | None = None
    if getattr(args, "dir", None) is not None or hasattr(args, "dir"):
        root = Path(args.dir or ".").expanduser().resolve()
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `reactor export --table t | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        message = describe_error(exc, root)
        if message is None:
            raise
        if isinstance(exc, PushRefused):
            say(message, sys.stderr)
        else:
            say(f"error: {message}", sys.stderr)
        return 1
