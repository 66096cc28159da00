"""Demo data and simulated traffic for a laptop call center with no telephony account.

``demo:seed`` (internal; ``reactor run demo:seed``) creates queues, agents' skills,
customers, canned responses, a campaign, a few SMS conversations and voicemails, and two
weeks of daily history so the dashboard's charts have something to draw. It is
idempotent: it does nothing once the demo queues exist.

The public actions below let the console stand in for Twilio while there is no account:
a caller ringing in, a caller hanging up, a text arriving, a callee answering. They call
the same internal mutations the signed webhooks call, and they work only when the
process was started with ``REACTOR_DEMO=1`` (``scripts/run`` sets it).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import Any

from reactor import ActionCtx, MutationCtx, QueryCtx, UserError, action, internal_mutation, query, v

from . import calls
from .lib.auth import me
from .lib.clock import day_of

DAY_MS = 86_400_000.0
HISTORY_DAYS = 14

AGENTS: list[dict[str, Any]] = [
    {
        "agent_id": "agent-1",
        "name": "Ava Thompson",
        "role": "agent",
        "skills": {"general": 4, "billing": 3},
    },
    {
        "agent_id": "agent-2",
        "name": "Ben Carter",
        "role": "agent",
        "skills": {"general": 3, "support": 4, "es": 3},
    },
    {
        "agent_id": "agent-3",
        "name": "Chloe Nguyen",
        "role": "agent",
        "skills": {"general": 5, "billing": 4, "support": 2},
    },
    {"agent_id": "sup-1", "name": "Sam Rivera", "role": "supervisor", "skills": {"general": 5}},
]

QUEUES = [
    {"name": "general", "number": "+15550001000", "skills": {}, "priority": 0.0, "sla": 20.0},
    {
        "name": "billing",
        "number": "+15550001001",
        "skills": {"billing": 2.0},
        "priority": 1.0,
        "sla": 30.0,
    },
    {
        "name": "support",
        "number": "+15550001002",
        "skills": {"support": 2.0},
        "priority": 0.0,
        "sla": 60.0,
    },
]

CUSTOMERS = [
    ("Maria Garcia", "+14155550101", "ACME-1001", "vip", "es"),
    ("James Wilson", "+14155550102", "ACME-1002", "standard", None),
    ("Priya Patel", "+14155550103", "ACME-1003", "vip", None),
    ("Tom Becker", "+14155550104", "ACME-1004", "standard", None),
    ("Lena Fischer", "+14155550105", "ACME-1005", "standard", None),
    ("Omar Haddad", "+14155550106", "ACME-1006", "gold", None),
    ("Grace Kim", "+14155550107", "ACME-1007", "standard", None),
    ("Diego Alvarez", "+14155550108", "ACME-1008", "gold", "es"),
]

CANNED = [
    ("Greeting", "Hi {first_name}, this is {agent_name} from Acme support. How can I help?"),
    ("Payment received", "Thanks {first_name}, we received your payment. Reference {reference}."),
    ("Call back", "Hi {first_name}, sorry we missed you. Reply here or call us at 555-0100."),
    ("Closing", "Glad we could help, {first_name}. Have a great day!"),
    ("Hours", "Our team is available Monday to Friday, 8am to 8pm Eastern."),
]

THREADS = [
    ("+14155550102", ["Hi, my last invoice looks higher than usual. Can someone check?"]),
    ("+14155550105", ["Is my order #4471 shipped yet?", "It was due yesterday"]),
    ("+14155550199", ["Do you open on Saturdays?"]),
]

# (customer phone, agent, days ago, talk seconds, disposition, scores or None)
HANDLED = [
    ("+14155550104", "agent-2", 1, 312, "Resolved", (4, 4, 5, 4, 4)),
    ("+14155550105", "agent-3", 1, 245, "Follow-up needed", None),
    ("+14155550106", "agent-2", 2, 418, "Escalated", (3, 4, 3, 4, 3)),
    ("+14155550108", "agent-3", 3, 190, "Sale", None),
]

VOICEMAILS = [
    ("+14155550104", "billing", "Hi, it's Tom Becker, please call me back about my refund."),
    ("+14155550177", "general", "Hello, I'd like to ask about upgrading my plan. Thanks."),
]


def _noise(day: str, what: str) -> float:
    """A stable pseudo-random number in [0, 1) for a day (mutations must be deterministic)."""
    digest = hashlib.sha256(f"{day}:{what}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def history_counters(day: str, weekday: int) -> dict[str, float]:
    """A plausible day of a small centre's counters (the names ``lib/stats`` defines)."""
    busy = 0.55 if weekday >= 5 else 1.0
    queued = round((70 + 40 * _noise(day, "queued")) * busy)
    abandon_rate = 0.03 + 0.07 * _noise(day, "abandon")
    abandoned = round(queued * abandon_rate)
    voicemail = round(queued * 0.02 * _noise(day, "vm"))
    answered = queued - abandoned - voicemail
    asa_ms = (8 + 30 * _noise(day, "asa")) * 1000.0
    within = min(answered, round(answered * (0.62 + 0.33 * _noise(day, "sl"))))
    talk_ms = answered * (200 + 120 * _noise(day, "talk")) * 1000.0
    hold_ms = answered * 15_000.0 * _noise(day, "hold")
    wrap_ms = answered * (25 + 20 * _noise(day, "wrap")) * 1000.0
    on_contact = talk_ms + hold_ms + wrap_ms
    counters = {
        "calls_in": float(queued),
        "queued": float(queued),
        "answered": float(answered),
        "abandoned": float(abandoned),
        "voicemail": float(voicemail),
        "handled": float(answered),
        "wait_answered_ms": answered * asa_ms,
        "wait_abandoned_ms": abandoned * asa_ms * 1.8,
        "max_wait_answered_ms": asa_ms * 4,
        "talk_ms": talk_ms,
        "hold_ms": hold_ms,
        "wrap_ms": wrap_ms,
        "wrapups": float(answered),
        "status_ms_on_call": talk_ms + hold_ms,
        "status_ms_wrap_up": wrap_ms,
        "status_ms_available": on_contact * (0.25 + 0.3 * _noise(day, "idle")),
        "calls_out": float(round(20 * busy * _noise(day, "out"))),
    }
    for x in (15, 20, 30, 60, 120):
        share = min(1.0, 0.8 + x / 150)
        counters[f"removed_within_{x}"] = float(min(queued, round(within * share + abandoned / 2)))
        counters[f"answered_within_{x}"] = float(min(answered, round(within * share)))
        counters[f"abandoned_within_{x}"] = float(round(abandoned / 2))
    return counters


def _put_stats(
    ctx: MutationCtx, scope: str, day: str, agent_id: str | None, counters: dict[str, Any]
) -> None:
    existing = (
        ctx.db.query("daily_stats")
        .with_index("by_scope_day", lambda q: q.eq("scope", scope).eq("day", day))
        .unique()
    )
    if existing is None:
        ctx.db.insert(
            "daily_stats", {"scope": scope, "day": day, "agent_id": agent_id, "counters": counters}
        )


def _seed_history(ctx: MutationCtx) -> None:
    from datetime import UTC, datetime

    agents = [a for a in AGENTS if a["role"] == "agent"]
    for back in range(HISTORY_DAYS, 0, -1):
        at = ctx.now - back * DAY_MS
        day = day_of(ctx, at)
        weekday = datetime.fromtimestamp(at / 1000.0, tz=UTC).weekday()
        center = history_counters(day, weekday)
        _put_stats(ctx, "all", day, None, center)
        sms = {
            "sms_in": float(round(30 * _noise(day, "smsin")) + 10),
            "sms_out": float(round(34 * _noise(day, "smsout")) + 12),
            "sms_blocked": float(round(2 * _noise(day, "blocked"))),
            "opt_outs": float(round(3 * _noise(day, "optout"))),
            "opt_ins": float(round(1 * _noise(day, "optin"))),
        }
        _put_stats(ctx, "sms", day, None, sms)
        for i, agent in enumerate(agents):
            share = (1.2 - 0.2 * i) / len(agents)
            mine: dict[str, float] = {
                k: round(val * share)
                for k, val in center.items()
                if k in ("answered", "handled", "talk_ms", "hold_ms", "wrap_ms", "wrapups")
            }
            mine.update(
                status_ms_on_call=mine["talk_ms"] + mine["hold_ms"],
                status_ms_wrap_up=mine["wrap_ms"],
                status_ms_available=center["status_ms_available"] * share,
            )
            _put_stats(ctx, f"agent:{agent['agent_id']}", day, agent["agent_id"], mine)


def _seed_handled(ctx: MutationCtx) -> None:
    categories = (
        "greeting",
        "product_knowledge",
        "problem_resolution",
        "professionalism",
        "closing",
    )
    for phone, agent_id, back, talk_s, disposition, scores in HANDLED:
        at = ctx.now - back * DAY_MS - 3_600_000.0
        answered = at + 18_000.0
        call = _blank_call(
            ctx,
            phone=phone,
            customer_id=_customer_id(ctx, phone),
            agent_id=agent_id,
            participants=[{"agent_id": agent_id, "role": "agent", "joined_at": answered}],
            status="completed",
            created_at=at,
            day=day_of(ctx, at),
            enqueued_at=at,
            answered_at=answered,
            ended_at=answered + talk_s * 1000.0,
            wrap_up_ended_at=answered + talk_s * 1000.0 + 30_000.0,
            offers=1.0,
            disposition=disposition,
        )
        call_id = ctx.db.insert("calls", call)
        if scores is None:
            continue
        values = {c: float(n) for c, n in zip(categories, scores, strict=True)}
        ctx.db.insert(
            "scorecards",
            {
                "call_id": call_id,
                "agent_id": agent_id,
                "reviewer_id": "sup-1",
                "source": "human",
                **values,
                "average": sum(values.values()) / len(values),
                "feedback": "Good discovery questions; summarise the next steps before closing.",
                "coaching_notes": "Practise the closing script.",
                "created_at": ctx.now - (back - 0.5) * DAY_MS,
                "day": day_of(ctx, at),
            },
        )


def _customer_id(ctx: QueryCtx, phone: str) -> str | None:
    row = ctx.db.query("customers").with_index("by_phone", lambda q: q.eq("phone", phone)).first()
    return None if row is None else str(row["_id"])


def _blank_call(ctx: QueryCtx, **fields: Any) -> dict[str, Any]:
    """A finished inbound call for the demo history (inserted by the caller)."""
    demo = {
        "direction": "inbound",
        "phone": "",
        "our_number": "+15550001000",
        "queue": "general",
        "status": "completed",
    }
    return {**calls.call_defaults(ctx), **demo, **fields}


def _seed_records(ctx: MutationCtx) -> None:
    now = ctx.now
    for name, phone, ref, tier, lang in CUSTOMERS:
        ctx.db.insert(
            "customers",
            {
                "name": name,
                "phone": phone,
                "account_ref": ref,
                "tier": tier,
                "preferred_language": lang,
                "last_agent_id": "agent-1",
                "last_contact_at": now - 3 * DAY_MS,
            },
        )
    for agent in AGENTS:
        # Signed out until they sign in, but known by name to everyone from the start.
        ctx.db.insert(
            "agent_status",
            {
                "agent_id": agent["agent_id"],
                "name": agent["name"],
                "status": "offline",
                "reason": None,
                "status_since": now,
                "available_since": None,
                "heartbeat_at": now,
                "call_id": None,
                "reservation_kind": None,
                "reservation_expires_at": None,
                "missed_in_row": 0.0,
                "skills": {k: float(lvl) for k, lvl in agent["skills"].items()},
            },
        )
        for skill, level in agent["skills"].items():
            ctx.db.insert(
                "agent_skills",
                {"agent_id": agent["agent_id"], "skill": skill, "level": float(level)},
            )
    for title, body in CANNED:
        ctx.db.insert(
            "canned_responses",
            {"title": title, "body": body, "tags": [], "scope": "shared", "created_by": "sup-1"},
        )
    campaign = ctx.db.insert(
        "campaigns",
        {
            "name": "Plan renewals",
            "caller_id": "+15550001000",
            "status": "active",
            "max_attempts": 3.0,
            "retry_after_ms": 3_600_000.0,
            "created_by": "sup-1",
        },
    )
    for rank, (name, phone, *_rest) in enumerate(CUSTOMERS[3:7]):
        ctx.db.insert(
            "call_queue",
            {
                "campaign_id": campaign,
                "phone": phone,
                "name": name,
                "customer_id": _customer_id(ctx, phone),
                "status": "pending",
                "rank": float(rank),
                "attempts": 0.0,
                "next_attempt_at": now,
                "agent_id": None,
                "call_id": None,
                "outcome": None,
            },
        )
    for i, (phone, bodies) in enumerate(THREADS):
        at = now - (len(THREADS) - i) * 600_000.0
        thread = ctx.db.insert(
            "sms_threads",
            {
                "phone": phone,
                "our_number": "+15550000000",
                "customer_id": _customer_id(ctx, phone),
                "status": "open",
                "last_message_at": at,
                "last_direction": "inbound",
                "preview": bodies[-1][:140],
                "unread_count": float(len(bodies)),
                "message_count": float(len(bodies)),
            },
        )
        for j, body in enumerate(bodies):
            ctx.db.insert(
                "sms_messages",
                {
                    "thread_id": thread,
                    "direction": "inbound",
                    "body": body,
                    "status": "received",
                    "message_sid": f"SMdemo{i}{j}",
                    "agent_id": None,
                    "at": at - (len(bodies) - j) * 30_000.0,
                    "error_code": None,
                    "archived": False,
                },
            )
    for i, (phone, queue, text) in enumerate(VOICEMAILS):
        at = now - (i + 1) * 1_800_000.0
        customer = _customer_id(ctx, phone)
        call = _blank_call(
            ctx,
            phone=phone,
            queue=queue,
            customer_id=customer,
            status="voicemail",
            created_at=at,
            day=day_of(ctx, at),
            enqueued_at=at,
            ended_at=at + 90_000.0,
        )
        call_id = ctx.db.insert("calls", call)
        ctx.db.insert(
            "voicemails",
            {
                "call_id": call_id,
                "phone": phone,
                "customer_id": customer,
                "queue": queue,
                "recording_id": None,
                "transcription": text,
                "assigned_to": None,
                "status": "new",
                "created_at": at,
            },
        )


@internal_mutation(args={})
def seed(ctx: MutationCtx) -> Any:
    """Create the demo call center (once): queues, skills, customers, canned, history."""
    if ctx.db.query("queues").with_index("by_name", lambda q: q.eq("name", "general")).first():
        return {"seeded": False}
    for q in QUEUES:
        ctx.db.insert(
            "queues",
            {
                "name": q["name"],
                "number": q["number"],
                "required_skills": q["skills"],
                "priority": q["priority"],
                "sla_seconds": q["sla"],
                "escalate_after_s": None,
                "escalated_skills": None,
            },
        )
    _seed_records(ctx)
    _seed_handled(ctx)
    _seed_history(ctx)
    return {"seeded": True}


@query(args={})
def status(ctx: QueryCtx) -> Any:
    """Whether this deployment has any queues yet (the console's first-run prompt)."""
    first = ctx.db.query("queues").with_index("by_name").first()
    return {"seeded": first is not None}


# -- simulated telephony (REACTOR_DEMO=1 only) -----------------------------------------------


def _require_demo() -> None:
    if os.environ.get("REACTOR_DEMO") != "1":
        raise UserError(
            {
                "code": "demo_disabled",
                "message": "demo traffic is off (start the server with REACTOR_DEMO=1)",
            }
        )


@action(args={})
async def load(ctx: ActionCtx) -> Any:
    """Seed the demo data (the console's first-run button)."""
    _require_demo()
    return await ctx.run_mutation("demo:seed", {})


@action(args={})
async def roster(ctx: ActionCtx) -> Any:
    """The demo's people, for the sign-in page's quick picks."""
    _require_demo()
    return [{"agent_id": a["agent_id"], "name": a["name"], "role": a["role"]} for a in AGENTS]


@action(args={"phone": v.optional(v.string()), "queue": v.optional(v.string())})
async def ring(ctx: ActionCtx, phone: str | None = None, queue: str | None = None) -> Any:
    """A caller dials in (as Twilio's incoming-call webhook would report it)."""
    _require_demo()
    await ctx.run_query("demo:whoami", {})
    number = next((q["number"] for q in QUEUES if q["name"] == queue), QUEUES[0]["number"])
    return await ctx.run_mutation(
        "calls:on_incoming",
        {
            "call_sid": "CA" + secrets.token_hex(16),
            "from_number": phone or CUSTOMERS[0][1],
            "to_number": number,
        },
    )


@action(args={"call_id": v.id("calls"), "status": v.optional(v.string())})
async def call_status(ctx: ActionCtx, call_id: str, status: str = "completed") -> Any:
    """The far end of a call changes state: ``completed`` (hung up), ``in-progress``."""
    _require_demo()
    await ctx.run_query("demo:whoami", {})
    return await ctx.run_mutation("calls:on_status", {"call_id": call_id, "status": status})


@action(args={"phone": v.string(), "body": v.string()})
async def text_in(ctx: ActionCtx, phone: str, body: str) -> Any:
    """A text arrives from ``phone`` (as the incoming-message webhook would report it)."""
    _require_demo()
    await ctx.run_query("demo:whoami", {})
    return await ctx.run_mutation(
        "sms/threads:on_incoming",
        {
            "message_sid": "SM" + secrets.token_hex(16),
            "from_number": phone,
            "to_number": "+15550000000",
            "body": body,
        },
    )


@query(args={})
def whoami(ctx: QueryCtx) -> Any:
    """The caller's id (the demo actions are for signed-in users only)."""
    return me(ctx)
