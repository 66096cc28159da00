"""ctx services: the executor attaches whatever services it is given, by protocol only."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

import reactor
from reactor import ActionCtx, Engine, MutationCtx, QueryCtx, ReactorError
from reactor.database.transaction import Transaction

PLATFORM = Path(__file__).parent.parent / "projects" / "platform"
RUNTIME = Path(reactor.__file__).parent / "runtime"


def test_runtime_never_imports_the_platform_layer() -> None:
    # The executor knows ContextService only; the scheduler and file storage sit above it.
    offenders = []
    for path in sorted(RUNTIME.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("reactor.platform")]
    assert offenders == []


def test_ctx_types_are_public_and_a_mutation_ctx_is_a_query_ctx() -> None:
    for name in ("QueryCtx", "MutationCtx", "ActionCtx"):
        assert name in reactor.__all__
    assert issubclass(MutationCtx, QueryCtx)
    assert not issubclass(ActionCtx, QueryCtx)


class Recorder:
    """A ContextService of the test's own: records what the executor hands it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def attach_query(self, ctx: QueryCtx, txn: Transaction) -> None:
        self.seen.append(f"query {type(ctx).__name__}")

    def attach_mutation(
        self, ctx: MutationCtx, txn: Transaction, after_commit: list[Callable[[], None]]
    ) -> None:
        self.seen.append(f"mutation {type(ctx).__name__}")

    def attach_action(self, ctx: ActionCtx) -> None:
        self.seen.append(f"action {type(ctx).__name__}")


@pytest.fixture
async def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Engine]:
    monkeypatch.setenv("REACTOR_STORAGE_DIR", str(tmp_path / "files"))
    async with Engine.open(PLATFORM, database=f"sqlite:///{tmp_path}/db.sqlite") as engine:
        yield engine


async def test_every_service_is_called_for_every_kind_of_function(engine: Engine) -> None:
    recorder = Recorder()
    engine.executor.services.append(recorder)
    await engine.query("jobs:events")
    await engine.mutation("jobs:record", {"name": "a"})
    await engine.action("jobs:env", {"name": "X"})
    assert recorder.seen == ["query QueryCtx", "mutation MutationCtx", "action ActionCtx"]


async def test_the_engine_services_provide_scheduler_and_storage(engine: Engine) -> None:
    job_id = await engine.mutation("jobs:schedule", {"name": "later", "delay": 3600})
    assert isinstance(job_id, str)
    job = await engine.query("jobs:job", {"job_id": job_id})
    assert job["state"] == "pending"


async def test_without_a_service_ctx_says_what_is_missing(engine: Engine) -> None:
    engine.executor.services = []
    with pytest.raises(ReactorError, match=r"ctx\.scheduler is not available"):
        await engine.mutation("jobs:schedule", {"name": "x", "delay": 1})
