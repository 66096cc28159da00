"""Several cluster nodes (engines with ``cluster=True``) on one PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

SCHEMA = """from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "accounts": define_table({"name": v.string(), "balance": v.int64()}).index(
            "by_name", ["name"]
        ),
    }
)
"""

BANK = """from reactor import Int64, mutation, query, v


def account(ctx, name):
    return ctx.db.query("accounts").with_index("by_name", lambda q: q.eq("name", name)).unique()


@mutation(args={"name": v.string(), "balance": v.int64()})
def open(ctx, name, balance):
    return ctx.db.insert("accounts", {"name": name, "balance": balance})


@mutation(args={"src": v.string(), "dst": v.string(), "amount": v.int64()})
def transfer(ctx, src, dst, amount):
    a, b = account(ctx, src), account(ctx, dst)
    ctx.db.patch(a["_id"], {"balance": a["balance"] - amount})
    ctx.db.patch(b["_id"], {"balance": b["balance"] + amount})
    return Int64(a["balance"] - amount)


@mutation(args={"name": v.string(), "amount": v.int64()})
def deposit(ctx, name, amount):
    doc = account(ctx, name)
    ctx.db.patch(doc["_id"], {"balance": doc["balance"] + amount})
    return Int64(doc["balance"] + amount)


@mutation(args={"name": v.string(), "amount": v.int64(), "times": v.int64()})
def deposit_later(ctx, name, amount, times):
    for _ in range(int(times)):
        ctx.scheduler.run_after(0, "bank:deposit", {"name": name, "amount": amount})


@query
def balances(ctx):
    return {d["name"]: int(d["balance"]) for d in ctx.db.query("accounts").collect()}


@query(args={"name": v.string()})
def balance(ctx, name):
    doc = account(ctx, name)
    return None if doc is None else int(doc["balance"])
"""


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """A project with accounts and transfers between them."""
    root = tmp_path / "bank"
    (root / "functions").mkdir(parents=True)
    (root / "schema.py").write_text(SCHEMA)
    (root / "functions" / "bank.py").write_text(BANK)
    return root
