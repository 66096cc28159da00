"""bench/report.py renders docs/benchmarks.md from a result set: targets, charts, readings.

The fixture is a trimmed smoke run (``REACTOR_BENCH_QUICK=1 bench/run``) of every
benchmark; the page made from it must carry every target, a chart and a reading per
benchmark, and none of the raw JSON.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from bench import report

FIXTURE = Path(__file__).parent / "fixtures" / "results"


def render(tmp_path: Path, results: Path = FIXTURE) -> str:
    return report.render(report.load(results), tmp_path / "benchmarks.md")


def test_page_has_no_raw_json(tmp_path: Path) -> None:
    text = render(tmp_path)
    assert "```json" not in text
    assert not re.search(r'"\w+":\s', text), "a JSON member leaked into the page"
    assert not re.search(r'^\s*(\{|\[\s*("|\d|\{|$))', text, re.M), "a JSON value opens a line"


def test_every_target_is_in_the_table(tmp_path: Path) -> None:
    text = render(tmp_path)
    table = text.split("\n## Targets\n", 1)[1].split("\n## ", 1)[0]
    rows = [row for row in table.splitlines() if row.startswith("| ") and "| issue |" not in row]
    for path in FIXTURE.glob("*.json"):
        for target in json.loads(path.read_text()).get("targets", []):
            mark = "yes" if target["met"] else "**no**"
            assert any(target["name"] in row and row.endswith(f"| {mark} |") for row in rows), (
                target["name"]
            )
    # The #17 goals a benchmark does not emit itself are derived or marked missing.
    assert any(row.startswith("| #17.3 | runaway |") for row in rows)


def test_each_benchmark_has_a_chart_and_a_two_line_reading(tmp_path: Path) -> None:
    text = render(tmp_path)
    assert "No reading" not in text
    for name in report.READERS:
        body = text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        charts = re.findall(r"!\[[^]]*\]\(benchmarks/([\w-]+\.svg)\)", body)
        assert charts, name
        for chart in charts:
            assert (tmp_path / "benchmarks" / chart).read_text().startswith("<svg")
        paragraphs = [p for p in body.split("\n\n") if p.strip() and not p.startswith(("!", "Raw"))]
        reading = paragraphs[-1].splitlines()
        assert len(reading) == 2 and reading[0].endswith("  "), (name, reading)


def test_reading_follows_the_figures(tmp_path: Path) -> None:
    """A target that is not met is said to be not met, in the table and in the reading."""
    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results)
    path = results / "write_throughput.json"
    data = json.loads(path.read_text())
    data["raw_inserts_per_s"] = data["reactor_inserts_per_s"] * 4
    path.write_text(json.dumps(data))
    text = render(tmp_path, results)
    assert "0.25× a raw sqlite3 loop" in text
    original = render(tmp_path)
    assert "0.25× a raw sqlite3 loop" not in original


def test_machine_and_reproduce_sections(tmp_path: Path) -> None:
    text = render(tmp_path)
    assert "## Machine" in text and "2 CPUs" in text and "smoke run" in text
    assert "## Reproduce" in text and "python -m bench.report" in text


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    assert render(tmp_path) == render(tmp_path)


def test_a_result_without_a_reader_keeps_its_targets(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "newbench.json").write_text(
        json.dumps(
            {
                "benchmark": "newbench",
                "machine": {"cpus": 2, "python": "3.11", "platform": "Linux", "when": "now"},
                "chart": {"title": "Speed", "labels": ["a", "b"], "values": [1.0, 2.0]},
                "targets": [{"name": "a / b", "value": 0.5, "goal": 1.0, "op": ">=", "met": False}],
            }
        )
    )
    text = render(tmp_path, results)
    assert "| earlier | newbench | a / b | 0.500 | >= 1.0 | **no** |" in text
    assert (tmp_path / "benchmarks" / "newbench.svg").exists()
    assert "## newbench" in text
