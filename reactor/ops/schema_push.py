"""Schema push: move a database from its current schema to a new one, safely.

A push compares the new schema with what the database holds and

1. validates every existing document of every table whose definition changed against the
   new definition (documents already validated under an identical definition, recorded
   in the ``schema`` global, are not re-read);
2. refuses a *breaking* change — a document that no longer validates, or a table that
   leaves the schema while it still has documents — with a :class:`PushPlan` report that
   names the offending documents (table, id, path of the bad value), up to a cap, with a
   total count;
3. otherwise numbers new tables (the ``tables`` registry), backfills new indexes, drops
   removed ones (:meth:`Database.apply_schema`), and records the schema JSON in the
   ``schema`` global so the next push can tell what changed.

Planning and applying happen in one synchronous step at a quiescent database (no commit
in flight), so no commit lands between the validation and the switch: every document the
new schema governs has been checked against it. A dry run plans and reports only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reactor.database.database import Database, ProgressCallback
from reactor.database.transaction import Limits
from reactor.errors import SchemaError, ValidationError
from reactor.persistence import describe_url, open_persistence
from reactor.persistence.lease import LeaseHolder, lease_timeout, release_lease
from reactor.schema import Schema

__all__ = [
    "PushInProgress",
    "PushPlan",
    "PushRefused",
    "Violation",
    "apply_push",
    "open_database",
    "plan_push",
    "push_in_progress",
    "push_schema",
    "stored_schema",
]

SCHEMA_GLOBAL = "schema"

CODE_GLOBAL = "code"
"""The global holding the digest of the functions last pushed with a schema."""
DEFAULT_VIOLATION_CAP = 20


@dataclass(frozen=True, slots=True)
class Violation:
    """One existing document that does not match the new schema."""

    table: str
    id: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.table} {self.id} at {self.path}: {self.message}"


@dataclass(slots=True)
class PushPlan:
    """What a push changes (or would change), and why it may be refused."""

    schema: Schema | None
    added_tables: list[str] = field(default_factory=list)
    removed_tables: list[str] = field(default_factory=list)
    nonempty_removed_tables: dict[str, int] = field(default_factory=dict)
    added_indexes: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    removed_indexes: list[tuple[str, str]] = field(default_factory=list)
    added_search_indexes: list[tuple[str, str]] = field(default_factory=list)
    removed_search_indexes: list[tuple[str, str]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    violation_count: int = 0
    documents_checked: int = 0
    backfill_documents: int = 0
    schema_changed: bool = False

    @property
    def breaking(self) -> bool:
        """Whether the push must be refused."""
        return bool(self.violation_count or self.nonempty_removed_tables)

    @property
    def changes(self) -> list[str]:
        """One line per change the push makes."""
        lines = [f"+ table {t}" for t in self.added_tables]
        lines += [f"- table {t}" for t in self.removed_tables]
        lines += [f"+ index {t}.{n} [{', '.join(f)}]" for t, n, f in self.added_indexes]
        lines += [f"- index {t}.{n}" for t, n in self.removed_indexes]
        lines += [f"+ search index {t}.{n}" for t, n in self.added_search_indexes]
        lines += [f"- search index {t}.{n}" for t, n in self.removed_search_indexes]
        return lines

    def report(self) -> str:
        """A human-readable report: the refusal reasons, or the changes."""
        lines: list[str] = []
        if self.breaking:
            lines.append("schema push refused: the new schema does not match existing data")
            for table, count in self.nonempty_removed_tables.items():
                lines.append(
                    f"  table {table!r} is not in the new schema but still has {count} "
                    "document(s); delete them first or keep the table"
                )
            if self.violation_count:
                lines.append(f"  {self.violation_count} document(s) do not match the new schema:")
                lines += [f"    {v}" for v in self.violations]
                hidden = self.violation_count - len(self.violations)
                if hidden > 0:
                    lines.append(f"    ... and {hidden} more")
            return "\n".join(lines)
        changes = self.changes
        if not changes and not self.schema_changed:
            return "schema unchanged"
        lines += changes or ["validators changed; every document still matches"]
        if self.documents_checked:
            lines.append(f"validated {self.documents_checked} existing document(s)")
        if self.backfill_documents:
            lines.append(f"backfilled new indexes over {self.backfill_documents} document(s)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON (what ``POST /api/admin/push`` answers), with its report."""
        return {
            "breaking": self.breaking,
            "changes": self.changes,
            "report": self.report(),
            "schemaChanged": self.schema_changed,
            "addedTables": list(self.added_tables),
            "removedTables": list(self.removed_tables),
            "nonemptyRemovedTables": dict(self.nonempty_removed_tables),
            "addedIndexes": [
                {"table": t, "name": n, "fields": list(f)} for t, n, f in self.added_indexes
            ],
            "removedIndexes": [{"table": t, "name": n} for t, n in self.removed_indexes],
            "addedSearchIndexes": [{"table": t, "name": n} for t, n in self.added_search_indexes],
            "removedSearchIndexes": [
                {"table": t, "name": n} for t, n in self.removed_search_indexes
            ],
            "violations": [
                {"table": v.table, "id": v.id, "path": v.path, "message": v.message}
                for v in self.violations
            ],
            "violationCount": self.violation_count,
            "documentsChecked": self.documents_checked,
            "backfillDocuments": self.backfill_documents,
        }

    @staticmethod
    def from_json(d: dict[str, Any]) -> PushPlan:
        """A plan read back from :meth:`to_json` (without its schema), e.g. to print its
        :meth:`report`."""

        def pairs(key: str) -> list[tuple[str, str]]:
            return [(str(x["table"]), str(x["name"])) for x in d.get(key, [])]

        return PushPlan(
            None,
            added_tables=[str(t) for t in d.get("addedTables", [])],
            removed_tables=[str(t) for t in d.get("removedTables", [])],
            nonempty_removed_tables={
                str(t): int(n) for t, n in d.get("nonemptyRemovedTables", {}).items()
            },
            added_indexes=[
                (str(x["table"]), str(x["name"]), tuple(str(f) for f in x["fields"]))
                for x in d.get("addedIndexes", [])
            ],
            removed_indexes=pairs("removedIndexes"),
            added_search_indexes=pairs("addedSearchIndexes"),
            removed_search_indexes=pairs("removedSearchIndexes"),
            violations=[
                Violation(str(v["table"]), str(v["id"]), str(v["path"]), str(v["message"]))
                for v in d.get("violations", [])
            ],
            violation_count=int(d.get("violationCount", 0)),
            documents_checked=int(d.get("documentsChecked", 0)),
            backfill_documents=int(d.get("backfillDocuments", 0)),
            schema_changed=bool(d.get("schemaChanged", False)),
        )


class PushRefused(SchemaError):
    """A schema push would break existing data; ``plan`` lists why."""

    def __init__(self, plan: PushPlan) -> None:
        super().__init__(plan.report())
        self.plan = plan


async def open_database(
    url: str,
    *,
    limits: Limits | None = None,
    lease: LeaseHolder | None = None,
    cluster: bool = False,
    node_address: str = "",
) -> Database:
    """Open and start a database at its last pushed schema (the state a push starts from).

    With ``lease``, the database's lease is claimed first (before anything is loaded):
    :class:`~reactor.persistence.errors.DatabaseInUse` if another server holds it.
    With ``cluster`` (PostgreSQL only), the database is one node of several sharing it
    (:meth:`Database.join_cluster`, registered with ``node_address``) and no lease is
    claimed.
    """
    persistence = await asyncio.to_thread(open_persistence, url)
    db: Database | None = None
    try:
        db = Database(persistence, None, limits)
        if cluster:
            db.join_cluster((lease or LeaseHolder.this_process()).node_id(), address=node_address)
        elif lease is not None:
            await asyncio.to_thread(
                db.claim_lease, lease, stale_after=lease_timeout(), what=describe_url(url)
            )
        db.schema = stored_schema(db)
        await asyncio.to_thread(db.load)
    except BaseException:
        if db is not None and db.lease is not None:
            with contextlib.suppress(Exception):  # best effort: it goes stale otherwise
                release_lease(persistence, db.lease)
        persistence.close()
        raise
    db.start()
    return db


def stored_schema(db: Database) -> Schema | None:
    """The schema last pushed to this database, or None."""
    raw = db.persistence.get_global(SCHEMA_GLOBAL)
    if raw is None:
        return None
    try:
        return Schema.from_json(raw)
    except SchemaError:
        return None


def _table_json(schema: Schema | None, name: str) -> Any:
    if schema is None or not schema.schema_validation or name not in schema.tables:
        return None
    return schema.tables[name].document.to_json()


def plan_push(
    db: Database,
    schema: Schema | None,
    *,
    progress: ProgressCallback | None = None,
    cap: int = DEFAULT_VIOLATION_CAP,
) -> PushPlan:
    """Compare ``schema`` with the database and validate the documents it would govern."""
    plan = PushPlan(schema)
    previous = stored_schema(db)
    plan.schema_changed = (previous.to_json() if previous else None) != (
        schema.to_json() if schema else None
    )
    current = {info.name: info for info in db.tables() if not info.name.startswith("_")}
    new_tables = dict(schema.tables) if schema is not None else {}
    for name, definition in new_tables.items():
        info = current.get(name)
        if info is None:
            plan.added_tables.append(name)
        old_user = {
            spec.name: spec.user_fields
            for spec in (info.specs if info is not None else ())
            if spec.user_fields
        }
        for index in definition.indexes.values():
            if old_user.get(index.name) != index.fields:
                plan.added_indexes.append((name, index.name, index.fields))
                plan.backfill_documents += db.table_size(name)
        for index_name, fields in old_user.items():
            kept = definition.indexes.get(index_name)
            if kept is None or kept.fields != fields:
                plan.removed_indexes.append((name, index_name))
        old_search = (
            set(info.definition.search_indexes)
            if info is not None and info.definition is not None
            else set()
        )
        plan.added_search_indexes += [
            (name, s) for s in definition.search_indexes if s not in old_search
        ]
        plan.removed_search_indexes += [
            (name, s) for s in sorted(old_search) if s not in definition.search_indexes
        ]
    for name, info in current.items():
        if name in new_tables:
            continue
        plan.removed_indexes += [(name, s.name) for s in info.specs if s.user_fields]
        if info.definition is not None:
            plan.removed_search_indexes += [(name, s) for s in info.definition.search_indexes]
        size = db.table_size(name)
        if schema is not None and size:
            plan.nonempty_removed_tables[name] = size
        elif info.definition is not None:
            plan.removed_tables.append(name)
    if schema is not None and schema.schema_validation:
        for name, definition in new_tables.items():
            if name not in current:
                continue
            if _table_json(previous, name) == definition.document.to_json():
                continue  # validated when the identical definition was pushed
            _validate_table(db, name, plan, progress, cap)
    return plan


def _validate_table(
    db: Database, name: str, plan: PushPlan, progress: ProgressCallback | None, cap: int
) -> None:
    assert plan.schema is not None
    definition = plan.schema.tables[name]
    total = db.table_size(name)
    for done, doc in enumerate(db.table_documents(name), 1):
        plan.documents_checked += 1
        try:
            definition.validate_document(doc, db.id_table)
        except ValidationError as exc:
            plan.violation_count += 1
            if len(plan.violations) < cap:
                plan.violations.append(
                    Violation(name, str(doc["_id"]), exc.path or "$", exc.reason)
                )
        if progress is not None and (done == total or done % 1000 == 0):
            progress(f"validating {name}", done, total)


def apply_push(db: Database, plan: PushPlan, *, progress: ProgressCallback | None = None) -> None:
    """Switch the in-memory database to ``plan.schema`` (synchronous; quiescent db)."""
    if plan.breaking:
        raise PushRefused(plan)

    def backfill(table: str, done: int, total: int) -> None:
        if progress is not None:
            progress(f"indexing {table}", done, total)

    db.apply_schema(plan.schema, backfill)


@dataclass(slots=True)
class PushInProgress:
    """A push that has started and not finished (what a dashboard shows meanwhile).

    Validation and backfill run in one synchronous step, so other requests only ever see
    the phases around it: ``waiting`` (for in-flight commits to settle) and ``recording``
    (the new schema is in use and being written to persistence).
    """

    schema: Schema | None
    dry_run: bool
    phase: str = "waiting"
    started: float = field(default_factory=time.time)


_pushes: weakref.WeakKeyDictionary[Database, PushInProgress] = weakref.WeakKeyDictionary()


def push_in_progress(db: Database) -> PushInProgress | None:
    """The push running on ``db`` now, if any."""
    return _pushes.get(db)


async def push_schema(
    db: Database,
    schema: Schema | None,
    *,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    cap: int = DEFAULT_VIOLATION_CAP,
    on_applied: Callable[[], None] | None = None,
    code: str | None = None,
) -> PushPlan:
    """Plan, check and (unless ``dry_run``) apply and record a schema push.

    Raises :class:`PushRefused` for a breaking change. ``on_applied`` runs in the same
    synchronous step as the switch (the engine swaps its functions there). ``code`` is
    the digest of the functions pushed with the schema (a reload or a start), recorded
    as :data:`CODE_GLOBAL`: other cluster nodes then load their own code again.
    """
    state = _pushes[db] = PushInProgress(schema, dry_run)
    try:
        await db.wait_quiescent()
        plan = plan_push(db, schema, progress=progress, cap=cap)
        if plan.breaking:
            raise PushRefused(plan)
        if dry_run:
            return plan
        apply_push(db, plan, progress=progress)
        if on_applied is not None:
            on_applied()
        state.phase = "recording"
        # A commit of its own: in cluster mode the commit log names the schema global,
        # so every other node applies the push (apply_stored_schema) in commit order.
        recorded: dict[str, Any] = {
            SCHEMA_GLOBAL: schema.to_json() if schema is not None else None,
            "tables": db.table_registry(),
        }
        if code is not None:
            recorded[CODE_GLOBAL] = code
        await db.commit_globals(recorded)
        return plan
    finally:
        if _pushes.get(db) is state:
            del _pushes[db]


async def apply_stored_schema(db: Database) -> bool:
    """Switch to the schema recorded in the database, if it differs from the one in use.

    A cluster node calls this when another node's push reaches it through the commit
    log. That node validated the documents; this one numbers the new tables as the
    pushing node did (the ``tables`` global), builds the new indexes and drops the
    removed ones. Returns whether anything changed.
    """

    def read() -> tuple[Schema | None, dict[str, int]]:
        return stored_schema(db), dict(db.persistence.get_global("tables") or {})

    schema, numbers = await asyncio.to_thread(read)
    wanted = schema.to_json() if schema is not None else None
    current = db.schema.to_json() if db.schema is not None else None
    if wanted == current:
        return False
    await db.wait_quiescent()
    db.register_tables(numbers)
    db.apply_schema(schema)
    return True
