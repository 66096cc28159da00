"""``reactor codegen``: TypeScript types and function references for client-js."""

from __future__ import annotations

import argparse

from reactor.cli.common import project_dir, say


def cmd_codegen(args: argparse.Namespace) -> int:
    from reactor.engine import load_project
    from reactor.ops.codegen import generate

    root = project_dir(args)
    project = load_project(root)
    for path in generate(project, args.out):
        say(f"wrote {path}")
    return 0
