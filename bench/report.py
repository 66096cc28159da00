"""Write docs/benchmarks.md from the results ``bench/run`` leaves in bench/results/.

The page holds one table of every target (measured, goal, met), then per benchmark a
chart (SVG, :mod:`bench.plot`) and a two-line reading generated from that benchmark's
figures, the machine and how to reproduce. Raw JSON stays in bench/results/ and is never
copied into the page; the analysis (profiles, what changed) is bench/FINDINGS.md.

Invariants: the output depends only on the result files (no clock, no environment), so
re-running the report on the committed results reproduces the committed page byte for
byte; a reading states only what its figures show (wording that depends on a figure, such
as "met" or "faster", is chosen from that figure); a result the report has no reading for
still gets its targets and, if it carries a ``chart`` entry, its chart.

Usage: ``python -m bench.report [--results DIR] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import harness
from bench.plot import bar_chart

DOC = harness.ROOT / "docs" / "benchmarks.md"

Result = dict[str, Any]
Chart = tuple[str, list[str], list[float], str, bool]  # title, labels, values, unit, log


@dataclass(frozen=True)
class Goal:
    """A target of an issue and where its figure comes from.

    ``benchmark`` and ``target`` name a target a benchmark emits (matched by prefix, since
    some names carry the size); ``derive`` computes the figure from a result instead, for
    a benchmark that does not emit it itself.
    """

    issue: str
    benchmark: str
    target: str
    goal: str = ""
    derive: Callable[[Result], tuple[float, bool]] | None = None


def _runaway_p99_ratio(r: Result) -> tuple[float, bool]:
    worst = max(case["p99_ratio"] for case in r["cases"].values())
    return worst, worst <= 5.0


# Every numeric target of #17, then those of the earlier P2 "Performance" issue and the
# hardening issue's measurements (#19.1); a target a benchmark emits that is not listed
# here still appears (issue "earlier").
GOALS: list[Goal] = [
    Goal("#17.1", "fanout", "fan-out all delivered / bare broadcast floor"),
    Goal("#17.1", "fanout", "server CPU per subscriber per change"),
    Goal("#17.2", "memory", "RSS per document / encoded size"),
    Goal("#17.2", "memory", "open of"),
    Goal(
        "#17.3",
        "runaway",
        "trivial-query p99 during a runaway / idle p99 (worst case)",
        "<= 5.0",
        _runaway_p99_ratio,
    ),
    Goal("#17.4", "pocketbase", "create throughput reactor / PocketBase"),
    Goal("#17.4", "creates", "create throughput reactor / PocketBase (median)"),
    Goal("P2", "invalidation", "rate at"),
    Goal("P2", "invalidation", "bytes per idle subscription"),
    Goal("P2", "push_latency", "push p99"),
    Goal("P2", "push_latency", "delivered / committed"),
    Goal("P2", "fanout", "fan-out all delivered / single-client"),
    Goal("P2", "fanout", "query executions per commit"),
    Goal("P2", "write_throughput", "reactor (16 callers) / raw sqlite3"),
    Goal("P2", "pocketbase", "delivery p50"),
    Goal("P2", "pocketbase", "delivery p99"),
    Goal("P2", "pocketbase", "reactor receipts"),
    Goal("#19.1", "runaway", "worst trivial-query p99 during an offender"),
    Goal("#19.1", "runaway", "fewest writer acknowledgements during an offender"),
    Goal("#16.7", "cluster", "cluster fan-out to"),
    Goal("#16.7", "cluster", "cluster query throughput"),
    Goal("#16.7", "cluster", "cluster push p50"),
]

ORDER = [
    "invalidation",
    "write_throughput",
    "memory",
    "push_latency",
    "fanout",
    "pocketbase",
    "creates",
    "runaway",
    "cluster",
]


def load(folder: Path) -> dict[str, Result]:
    results = {path.stem: json.loads(path.read_text()) for path in folder.glob("*.json")}
    known = [n for n in ORDER if n in results]
    return {n: results[n] for n in known + sorted(set(results) - set(known))}


def _num(x: float) -> str:
    return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.0f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# -- the target table ------------------------------------------------------------------------


def target_rows(results: dict[str, Result]) -> list[str]:
    rows = []
    used: set[tuple[str, str]] = set()
    for goal in GOALS:
        result = results.get(goal.benchmark)
        if goal.derive is not None:
            if result is None:
                rows.append((goal.issue, goal.benchmark, goal.target, "not run", goal.goal, "-"))
                continue
            try:
                value, met = goal.derive(result)
            except (KeyError, ValueError, TypeError):
                rows.append((goal.issue, goal.benchmark, goal.target, "not in results", "", "-"))
                continue
            rows.append(
                (goal.issue, goal.benchmark, goal.target, _num(value), goal.goal, _met(met))
            )
            continue
        found = [
            t
            for t in (result or {}).get("targets", [])
            if t["name"].startswith(goal.target) and (goal.benchmark, t["name"]) not in used
        ]
        if not found:
            measured = "not run" if result is None else "not in results"
            rows.append((goal.issue, goal.benchmark, goal.target, measured, "", "-"))
        for t in found:
            used.add((goal.benchmark, t["name"]))
            rows.append(
                (
                    goal.issue,
                    goal.benchmark,
                    t["name"],
                    _num(t["value"]),
                    f"{t['op']} {t['goal']}",
                    _met(t["met"]),
                )
            )
    for name, result in results.items():
        for t in result.get("targets", []):
            if (name, t["name"]) not in used:
                rows.append(
                    (
                        "earlier",
                        name,
                        t["name"],
                        _num(t["value"]),
                        f"{t['op']} {t['goal']}",
                        _met(t["met"]),
                    )
                )
    lines = [
        "| issue | benchmark | target | measured | goal | met |",
        "|---|---|---|---:|---|---|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _met(met: bool) -> str:
    return "yes" if met else "**no**"


# -- charts and readings, per benchmark ---------------------------------------------------------


def _target(r: Result, prefix: str) -> dict[str, Any]:
    for t in r.get("targets", []):
        if t["name"].startswith(prefix):
            return dict(t)
    raise KeyError(prefix)


def _times(n: float) -> str:
    return "once" if n == 1 else f"{n:g} times"


def _met_word(t: dict[str, Any]) -> str:
    return "met" if t["met"] else "not met"


def invalidation(r: Result) -> tuple[list[Chart], list[str]]:
    rows = r["rows"]
    labels = [f"{x['strategy']}, {x['subscriptions']:,} subs" for x in rows]
    chart: Chart = (
        "Commit rate with idle subscriptions",
        labels,
        [x["commits_per_s"] for x in rows],
        "commits/s",
        True,
    )
    scaling = _target(r, "rate at")
    memory = _target(r, "bytes per idle subscription")
    mine = [x for x in rows if x["strategy"] == "reactor"]
    top = max(x["subscriptions"] for x in mine)
    how = "barely changes" if scaling["value"] >= 0.8 else "falls"
    baselines = r.get("ratios_vs_baselines", {})
    at = max((x["subscriptions"] for x in rows if x["strategy"] != "reactor"), default=0)
    naive = " and ".join(
        f"{ratio:,.0f}× the rate of {'re-running the table' if s == 'table' else 'polling'}"
        for s, ratio in sorted(baselines.items())
    )
    lines = [
        f"Going from no subscriptions to {top:,} idle ones, the commit rate per CPU-second "
        f"{how}: {scaling['value']:.2f}× ({r['wall_clock_ratio']:.2f}× wall clock; goal "
        f"≥ 0.8, {_met_word(scaling)}).",
        f"Each idle subscription holds {memory['value'] / 1024:.1f} KB"
        + (f"; precise invalidation commits at {naive} at {at:,} subscriptions." if naive else "."),
    ]
    return [chart], lines


def write_throughput(r: Result) -> tuple[list[Chart], list[str]]:
    raw, ours, one = (
        r["raw_inserts_per_s"],
        r["reactor_inserts_per_s"],
        r["reactor_single_caller_inserts_per_s"],
    )
    chart: Chart = (
        "Durable inserts",
        ["raw sqlite3 (1 txn/insert)", "reactor, 1 caller", "reactor, 16 callers"],
        [raw, one, ours],
        "inserts/s",
        False,
    )
    inserts = r.get("inserts", 4000)
    per_batch = inserts / max(1, r["batches"])
    lines = [
        f"With 16 concurrent callers reactor makes {ours:,.0f} durable inserts/s, "
        f"{ours / raw:.2f}× a raw sqlite3 loop doing one synchronous transaction per insert "
        f"({per_batch:.1f} inserts shared each fsync'd batch).",
        f"A single caller, which waits for its own fsync every time, gets {one:,.0f}/s "
        f"({one / raw:.2f}× raw).",
    ]
    return [chart], lines


def memory(r: Result) -> tuple[list[Chart], list[str]]:
    counts = sorted(int(c) for c in r["sizes"])
    lo, hi = str(counts[0]), str(counts[-1])
    big = r["sizes"][hi]
    labels, values = [], []
    for c in counts:
        s = r["sizes"][str(c)]
        labels += [f"{c:,} docs: encoded", f"{c:,} docs: resident"]
        values += [s["encoded_bytes_per_doc"], s["rss_bytes_per_doc"]]
    chart: Chart = ("Bytes per document after opening", labels, values, "B", False)
    parts = {k: v for k, v in big["open"]["bytes_per_doc_by_structure"].items() if k != "total"}
    largest = sorted(parts.items(), key=lambda kv: -kv[1])[:2]
    ratio = _target(r, "RSS per document")
    opened = _target(r, "open of")
    lines = [
        f"Opened with {int(hi):,} documents of {big['encoded_bytes_per_doc']:.0f} encoded bytes, "
        f"the server holds {big['rss_bytes_per_doc']:,.0f} resident bytes per document "
        f"({ratio['value']:.1f}× encoded; goal ≤ 2.5×, {_met_word(ratio)}); the largest parts: "
        + " and ".join(f"{name} {v:.0f} B" for name, v in largest)
        + ".",
        f"Opening takes {big['open']['open_s']:.1f} s (goal ≤ 5 s, {_met_word(opened)}), "
        f"{big['open_over_select']:.1f}× a bare sqlite3 SELECT of the same rows "
        f"({big['select']['select_s']:.1f} s); {int(lo):,} documents take "
        f"{r['sizes'][lo]['open']['open_s']:.1f} s.",
    ]
    settled = big["open"].get("settled_full_collection_ms")
    if settled is not None:
        lines[1] += (
            f" A full garbage collection then pauses {big['open']['full_collection_ms']:.0f} ms, "
            f"{settled:.2f} ms in a server, which freezes what the open loaded."
        )
    return [chart], lines


def push_latency(r: Result) -> tuple[list[Chart], list[str]]:
    labels, values = [], []
    for key, label in (
        ("bare_ws_push", "bare WebSocket push"),
        ("bare_commit", "bare commit"),
        ("push_from_commit", "reactor: commit -> Transition"),
    ):
        for q in ("p50", "p99"):
            labels.append(f"{label} {q}")
            values.append(r[key][f"{q}_ms"])
    sz = r["sizes"]
    chart: Chart = (f"Push latency, {sz['clients']:,} subscribers", labels, values, "ms", False)
    push = r["push_from_commit"]
    t = _target(r, "push p99")
    lines = [
        f"With {sz['clients']:,} subscribers and {sz['rate']} writes/s, a commit reaches its "
        f"subscriber in {push['p50_ms']:.1f} ms p50 and {push['p99_ms']:.1f} ms p99.",
        f"That p99 is {t['value']:.2f}× a bare commit's p99 plus a bare WebSocket push's "
        f"(goal ≤ 5×, {_met_word(t)}); {r['deliveries']:,} of {r['writes_committed']:,} "
        "committed writes were delivered.",
    ]
    return [chart], lines


def fanout(r: Result) -> tuple[list[Chart], list[str]]:
    clients = r["sizes"]["clients"]
    chart: Chart = (
        "Fan-out of one commit (p50)",
        [
            "1 client",
            f"{clients:,} clients: first",
            "broadcast floor: all",
            f"{clients:,} clients: all",
        ],
        [
            r["single_commit_to_delivered"]["p50_ms"],
            r["fan_commit_to_first"]["p50_ms"],
            r["bare_broadcast_all_delivered"]["p50_ms"],
            r["fan_commit_to_all"]["p50_ms"],
        ],
        "ms",
        False,
    )
    floor = r["ratio_all_to_bare_broadcast_p50"]
    cpu_us = r["server_cpu_per_round_ms"] * 1000 / clients
    floor_cpu = r.get("floor_server_cpu_per_subscriber_us")
    floor_cpu_text = (
        f", against {floor_cpu:.0f} µs for the floor's broadcast in the same run"
        if floor_cpu is not None
        else ""
    )
    lines = [
        f"One commit reaches all {clients:,} subscribers in {r['fan_commit_to_all']['p50_ms']:.0f} "
        f"ms p50, {floor:.2f}× a plain websockets broadcast of the same Transition, encoded "
        f"once, to as many sockets ({r['bare_broadcast_all_delivered']['p50_ms']:.0f} ms; goal "
        f"≤ 1.1×, {'met' if floor <= 1.1 else 'not met'}).",
        f"The server spends {cpu_us:.0f} µs of CPU per subscriber per change{floor_cpu_text} "
        f"(goal ≤ 15 µs, {'met' if cpu_us <= 15 else 'not met'}); the query ran at most "
        f"{_times(max(r['query_executions_per_commit'], default=0))} per commit.",
    ]
    return [chart], lines


def pocketbase(r: Result) -> tuple[list[Chart], list[str]]:
    rt, rn, pt = r["reactor_throughput"], r["reactor_throughput_normal"], r["pb_throughput"]
    throughput: Chart = (
        "HTTP creates, 16 keep-alive connections",
        ["reactor (synchronous=FULL)", "reactor (synchronous=NORMAL)", "PocketBase (NORMAL)"],
        [rt["per_s"], rn["per_s"], pt["per_s"]],
        "creates/s",
        False,
    )
    labels, values = [], []
    for system, key in (("reactor", "reactor"), ("PocketBase", "pb")):
        for q in ("p50", "p99"):
            labels.append(f"{system} delivery {q}")
            values.append(r[f"{key}_delivery"]["latency"][f"{q}_ms"])
    n = r["sizes"]["subscribers"]
    delivery: Chart = (f"Delivery to {n:,} subscribers", labels, values, "ms", False)
    ratios = r["ratios"]
    tp = _target(r, "create throughput")
    rd, pd = r["reactor_delivery"]["latency"], r["pb_delivery"]["latency"]
    lines = [
        f"Durable creates over HTTP: reactor {rt['per_s']:,.0f}/s against PocketBase's "
        f"{pt['per_s']:,.0f}/s ({ratios['throughput']:.2f}×; goal ≥ {tp['goal']}, "
        f"{_met_word(tp)}), and {ratios['throughput_same_durability']:.2f}× at PocketBase's "
        "synchronous=NORMAL.",
        f"Delivery to {n:,} subscribers: reactor {rd['p50_ms']:.1f} ms p50 / "
        f"{rd['p99_ms']:.1f} ms p99 against PocketBase's {pd['p50_ms']:.1f} / "
        f"{pd['p99_ms']:.1f} ms ({ratios['delivery_p50']:.2f}× and {ratios['delivery_p99']:.2f}×).",
    ]
    return [throughput, delivery], lines


def creates(r: Result) -> tuple[list[Chart], list[str]]:
    rounds = r["rounds"]
    labels, values = [], []
    for k, x in enumerate(rounds):
        labels += [f"round {k + 1}: reactor", f"round {k + 1}: PocketBase"]
        values += [x["reactor"]["per_s"], x["pb"]["per_s"]]
    chart: Chart = ("HTTP creates per round", labels, values, "creates/s", False)
    t = _target(r, "create throughput")
    mine = [x["reactor"] for x in rounds]
    per_batch = sum(x["creates"] for x in mine) / max(1, sum(x["batches"] for x in mine))
    write_ms = sum(x["write_wall_ms_per_batch"] for x in mine) / len(mine)
    busy = sum(x["write_busy_share"] for x in mine) / len(mine)
    cpu = sum(x["server_cpu_us_per_create"] for x in mine) / len(mine)
    floors = [x["reactor_noop"] for x in rounds if "reactor_noop" in x]
    floor = (
        f" (a mutation that writes nothing costs "
        f"{sum(f['server_cpu_us_per_request'] for f in floors) / len(floors):.0f} µs)"
        if floors
        else ""
    )
    lines = [
        f"Over {len(rounds)} interleaved rounds reactor's durable creates run at a median "
        f"{t['value']:.2f}× PocketBase's (goal ≥ {t['goal']}, {_met_word(t)}).",
        f"Each fsync'd write carried {per_batch:.1f} creates and took {write_ms:.1f} ms, the "
        f"writer was busy {busy:.0%} of the time, and the server spent {cpu:.0f} µs of CPU "
        f"per create{floor}.",
    ]
    return [chart], lines


def runaway(r: Result) -> tuple[list[Chart], list[str]]:
    cases = r["cases"]
    labels = ["idle", *cases]
    values = [r["idle"]["p99_ms"], *(c["p99_ms"] for c in cases.values())]
    chart: Chart = ("Trivial query p99 while an offender runs", labels, values, "ms", False)
    label, worst = max(cases.items(), key=lambda kv: kv[1]["p99_ratio"])
    ratio = worst["p99_ratio"]
    longest = max(c["max_ms"] for c in cases.values())
    alive = r.get("alive_after")
    lines = [
        f"While an offender runs back to back, a trivial query's p99 is at worst "
        f"{ratio:.1f}× its idle p99 of {r['idle']['p99_ms']:.1f} ms, with the “{label}” "
        f"offender (goal ≤ 5×, {'met' if ratio <= 5 else 'not met'}).",
        f"The longest single wait was {longest:,.0f} ms against a {r['time_limit_s']:g} s time "
        "limit; the server " + ("answered" if alive else "did not answer") + " afterwards.",
    ]
    return [chart], lines


def cluster(r: Result) -> tuple[list[Chart], list[str]]:
    fan, tput = r["fanout"], r["throughput"]
    sizes = sorted(fan, key=int)
    label = {k: f"{k} node" + ("" if k == "1" else "s") for k in sizes}
    fan_chart: Chart = (
        f"Cluster fan-out to {r['subscribers']:,} subscribers (median)",
        [label[k] for k in sizes],
        [fan[k]["median_ms"] for k in sizes],
        "ms",
        False,
    )
    q_sizes = sorted(tput, key=int)
    q_chart: Chart = (
        "Cluster query throughput",
        [label.get(k, k) for k in q_sizes],
        [tput[k]["per_s"] for k in q_sizes],
        "queries/s",
        False,
    )
    fr, qr = r["fanout_ratio_to_1"], r["throughput_ratio_to_1"]
    push = r["push"]
    same, cross = push["same_node"], push["cross_node"]
    reps = len(tput[q_sizes[0]].get("reps_per_s", [1]))
    cpus = r.get("machine", {}).get("cpus")

    def vs_one(ratio: float, lower_better: bool) -> str:
        if abs(ratio - 1) < 0.05:
            return "about the same as one node"
        better = ratio < 1 if lower_better else ratio > 1
        return "better than one node" if better else "worse than one node"

    others = [k for k in sizes if k != "1"]
    lines = [
        f"One commit on node 1 reaches {r['subscribers']:,} subscribers spread evenly over "
        + ", ".join(f"{label[k]} in {fan[k]['median_ms']:.0f} ms" for k in sizes)
        + " (median from the writer's send; "
        + ", ".join(f"{label[k]} {fr[k]:.2f}×, {vs_one(fr[k], True)}" for k in others)
        + "); mutation-free HTTP queries run at "
        + ", ".join(f"{tput[k]['per_s']:,.0f}/s on {label[k]}" for k in q_sizes)
        + " ("
        + ", ".join(f"{qr[k]:.2f}×, {vs_one(qr[k], False)}" for k in q_sizes if k != "1")
        + f"; median of {reps} interleaved repetitions).",
        f"A subscriber on another node than the writer's gets the commit in "
        f"{cross['p50_ms']:.1f} ms p50 / {cross['p99_ms']:.1f} ms p99, against "
        f"{same['p50_ms']:.1f} / {same['p99_ms']:.1f} ms on the writer's node "
        f"({r['push_ratio_cross_to_same_p50']:.2f}× p50, "
        f"{r['push_ratio_cross_to_same_p99']:.2f}× p99); every node, PostgreSQL and the "
        f"load generators share the machine's {cpus} CPUs.",
    ]
    return [fan_chart, q_chart], lines


READERS: dict[str, Callable[[Result], tuple[list[Chart], list[str]]]] = {
    "invalidation": invalidation,
    "write_throughput": write_throughput,
    "memory": memory,
    "push_latency": push_latency,
    "fanout": fanout,
    "pocketbase": pocketbase,
    "creates": creates,
    "runaway": runaway,
    "cluster": cluster,
}

WHAT = {
    "invalidation": "Commit rate as idle subscriptions grow, and against naive strategies.",
    "write_throughput": "Durable single-document inserts against a raw sqlite3 loop.",
    "memory": "Resident memory and open time of large databases of small documents.",
    "push_latency": "Latency from a commit to its subscriber's WebSocket Transition.",
    "fanout": "One commit delivered to every subscriber of one query.",
    "pocketbase": (
        "reactor and PocketBase side by side: HTTP creates and realtime delivery. The two"
        " servers' creates are measured a minute or more apart here; `creates` below"
        " interleaves them, which is the steadier ratio on a shared machine."
    ),
    "creates": "HTTP creates alone, reactor and PocketBase in interleaved rounds.",
    "runaway": "A trivial query's latency while runaway functions run back to back.",
    "cluster": (
        "Several `reactor serve` nodes on one PostgreSQL database: fan-out, query throughput"
        " and cross-node push latency with 1, 2 and 3 nodes."
    ),
}


def section(name: str, result: Result, charts_dir: Path, link: str) -> list[str]:
    lines = ["", f"## {name}", ""]
    if name in WHAT:
        lines += [WHAT[name], ""]
    reader = READERS.get(name)
    charts: list[Chart] = []
    reading: list[str] = []
    if reader is not None:
        try:
            charts, reading = reader(result)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            reading = [f"(No reading: this result lacks the figure {exc}.)"]
    elif result.get("chart"):
        c = result["chart"]
        charts = [(c["title"], c["labels"], c["values"], c.get("unit", ""), c.get("log", False))]
    for i, (title, labels, values, unit, log) in enumerate(charts):
        file = f"{name}.svg" if i == 0 else f"{name}-{i + 1}.svg"
        (charts_dir / file).write_text(bar_chart(title, labels, values, unit, log=log))
        lines += [f"![{title}]({link}/{file})", ""]
    if reading:
        lines += [reading[0] + "  ", *reading[1:], ""]
    targets = result.get("targets", [])
    if targets and reader is None:
        lines += [
            "Targets: "
            + "; ".join(
                f"{t['name']} {_num(t['value'])} ({t['op']} {t['goal']}, {_met(t['met'])})"
                for t in targets
            )
            + ".",
            "",
        ]
    lines += [f"Raw figures: `bench/results/{name}.json`.", ""]
    return lines


def machine_lines(results: dict[str, Result]) -> list[str]:
    seen: dict[str, list[str]] = {}
    for name, r in results.items():
        m = dict(r.get("machine", {}))
        desc = (
            f"{m.get('cpus')} CPUs"
            + (f" ({m['cpu_model']})" if m.get("cpu_model") else "")
            + (f", {m['memory_gb']:.0f} GB RAM" if m.get("memory_gb") else "")
            + f", Python {m.get('python')}, {m.get('platform')}"
            + (" (smoke run: REACTOR_BENCH_QUICK, reduced sizes)" if m.get("quick") else "")
        )
        seen.setdefault(desc, []).append(name)
    runs = sorted(str(r.get("machine", {}).get("when", "")) for r in results.values())
    lines = [f"- {desc}: {', '.join(names)}" for desc, names in seen.items()]
    if runs:
        lines.append(f"- Results from {runs[0]} to {runs[-1]}.")
    loads = [
        f"{name} {r['machine']['load_avg']:.1f}"
        for name, r in results.items()
        if r.get("machine", {}).get("load_avg") is not None
    ]
    if loads:
        lines.append("- Load average (1 min) when each result was saved: " + ", ".join(loads) + ".")
    return lines


def render(results: dict[str, Result], out: Path) -> str:
    charts_dir = out.parent / "benchmarks"
    charts_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Benchmarks",
        "",
        "Each benchmark in `bench/` prints its figures and the ratios its targets are about;",
        "this page is generated from the figures of the last recorded run. Ratios compare",
        "figures measured in the same run, because the machine is shared and noisy; the",
        "profiles behind the figures and what was changed because of them are in",
        "[`bench/FINDINGS.md`](../bench/FINDINGS.md).",
        "",
        "## Targets",
        "",
        *target_rows(results),
        "",
        "#17.5 (this page) and #17.6 (a profile per benchmark) are not figures: see",
        "[`bench/FINDINGS.md`](../bench/FINDINGS.md).",
    ]
    for name, result in results.items():
        lines += section(name, result, charts_dir, "benchmarks")
    lines += [
        "",
        "## Machine",
        "",
        *machine_lines(results),
        "",
        "## Reproduce",
        "",
        "```sh",
        "bench/run                 # every benchmark (bench/run fanout memory: some of them)",
        ".venv/bin/python -m bench.report",
        "```",
        "",
        "`bench/run` writes `bench/results/<name>.json`; those files are committed with this",
        "page, so `python -m bench.report` on a checkout regenerates it exactly, and the raw",
        "figures behind every sentence can be checked. `REACTOR_BENCH_QUICK=1 bench/run` is a",
        "smoke run with smaller sizes (its figures are not comparable);",
        "`REACTOR_BENCH_PYSPY=DIR` writes py-spy profiles of the network benchmarks' server.",
    ]
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=harness.RESULTS)
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    render(load(args.results), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
