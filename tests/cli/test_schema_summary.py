"""The start-up schema report: a readable summary, every change on request."""

from __future__ import annotations

from reactor.cli.common import push_summary
from reactor.ops.schema_push import PushPlan
from tests.support.cli import run_subprocess
from tests.support.projects import ROOT


def _plan(tables: int, indexes: int) -> PushPlan:
    plan = PushPlan(schema=None)
    plan.added_tables = [f"t{i}" for i in range(tables)]
    plan.added_indexes = [(f"t{i}", f"by_x{i}", ("x",)) for i in range(indexes)]
    plan.schema_changed = True
    return plan


def test_many_changes_are_counted_on_one_short_line() -> None:
    line = push_summary(_plan(18, 60))
    assert line == (
        "schema pushed: 18 tables added, 60 indexes added (--schema-diff lists every change)"
    )
    assert "\n" not in line


def test_few_changes_are_listed() -> None:
    assert push_summary(_plan(1, 1)) == "schema pushed: + table t0; + index t0.by_x0 [x]"
    assert push_summary(None) == "schema unchanged"


def test_full_diff_on_request() -> None:
    lines = push_summary(_plan(18, 60), full=True).splitlines()
    assert lines[0] == "schema pushed:"
    assert len(lines) == 1 + 18 + 60 and lines[1] == "  + table t0"


def test_push_dry_run_still_shows_every_change(tmp_path: object) -> None:
    # The repository's own app on a fresh database.
    database = f"sqlite:///{tmp_path}/data.db"
    result = run_subprocess("push", "--dir", str(ROOT), "--database", database, "--dry-run")
    assert result.code == 0, result.err
    assert "+ table" in result.out  # push --dry-run keeps showing the whole plan
