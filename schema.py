"""The call-center application's schema.

Hot state (what agents and dashboards subscribe to) lives in the nine tables named by the
design: ``agent_status``, ``incoming_call_queue``, ``user_contact_tabs``, ``active_calls``,
``call_queue``, ``transfer_queue``, ``agent_skills``, ``sms_messages`` and
``sms_thread_locks``. The other tables are the records the features need (calls, their
live transcript, customers, recordings, compliance audit, append-only event logs) and the
daily aggregates that keep history queries from scanning calls.

Every index is chosen for one query: see docs/call-center.md for which.
"""

from reactor import define_schema, define_table, v
from reactor.validators import Validator

# -- enums ------------------------------------------------------------------------------


def _enum(*names: str) -> Validator:
    return v.union(*(v.literal(n) for n in names))


AGENT_STATUS = _enum("offline", "available", "reserved", "on_call", "wrap_up", "away")
CALL_STATUS = _enum(
    "queued",
    "ringing",
    "in_progress",
    "on_hold",
    "transferring",
    "completed",
    "abandoned",
    "no_answer",
    "busy",
    "failed",
    "canceled",
    "voicemail",
)
DIRECTION = _enum("inbound", "outbound")
SKILLS = v.record(v.string(), v.number())

PARTICIPANT = v.object(
    {
        "agent_id": v.string(),
        "role": _enum("agent", "transfer_target", "supervisor"),
        "mode": v.optional(_enum("monitor", "whisper", "barge")),
        "joined_at": v.number(),
        # cc-domain: the call's hold total when this leg joined (its own hold = now - this).
        "hold_ms_at_join": v.optional(v.number()),
    }
)

SCORE = v.number()

# -- recordings, transcription and AI (functions/media.py, functions/ai/) --------------

# Where a recording's audio is kept once fetched from Twilio (absent until then).
RECORDING_MEDIA = {
    "storage": v.optional(_enum("s3", "files")),
    "bucket": v.optional(v.string()),  # s3: bucket; storage_key is the object key
    "storage_id": v.optional(v.string()),  # files: reactor file storage id
    "size_bytes": v.optional(v.number()),
    "sha256": v.optional(v.string()),
    "content_type": v.optional(v.string()),
    "channels": v.optional(v.number()),
    "stored_at": v.optional(v.number()),
}
SEGMENT = v.object({"start": v.number(), "end": v.number(), "text": v.string()})
TRANSCRIPT_DETAIL = {
    "recording_id": v.optional(v.id("recordings")),
    "source": v.optional(_enum("recording", "voicemail", "live")),
    "segments": v.optional(v.array(SEGMENT)),
    "duration_s": v.optional(v.number()),
    "created_at": v.optional(v.number()),
}
AI_SCORES = v.object(
    {
        "greeting": v.number(),
        "product_knowledge": v.number(),
        "problem_resolution": v.number(),
        "professionalism": v.number(),
        "closing": v.number(),
    }
)
AI_TABLES = {
    # AI grading of a call's transcript, kept apart from human scorecards: one document
    # per (call, prompt version), retried with backoff while status is "failed".
    "ai_scorecards": define_table(
        {
            "call_id": v.id("calls"),
            "transcript_id": v.id("transcripts"),
            "agent_id": v.nullable(v.string()),
            "customer_id": v.nullable(v.id("customers")),
            "day": v.string(),
            "status": _enum("pending", "done", "failed", "dead"),
            "attempts": v.number(),
            "last_error": v.nullable(v.string()),
            "next_attempt_at": v.nullable(v.number()),
            "model": v.string(),
            "prompt_version": v.string(),
            "scores": v.nullable(AI_SCORES),
            "average": v.nullable(v.number()),
            "feedback": v.nullable(v.string()),
            "coaching_notes": v.nullable(v.string()),
            "created_at": v.number(),
            "updated_at": v.number(),
        }
    )
    .index("by_call_prompt", ["call_id", "prompt_version"])
    .index("by_agent", ["agent_id", "created_at"])
    .index("by_status", ["status", "updated_at"]),
    # AI coaching summaries of an agent ("agent:<id>") or a group ("group:<name>").
    "performance_summaries": define_table(
        {
            "scope": v.string(),
            "agent_ids": v.array(v.string()),
            "from_day": v.string(),
            "to_day": v.string(),
            "status": _enum("done", "failed"),
            "strengths": v.array(v.string()),
            "improvements": v.array(v.string()),
            "coaching_actions": v.array(v.string()),
            "error": v.nullable(v.string()),
            "model": v.string(),
            "prompt_version": v.string(),
            "requested_by": v.nullable(v.string()),
            "created_at": v.number(),
        }
    ).index("by_scope", ["scope", "created_at"]),
    # How far the archiver has copied an append-only table (by _creation_time, _id).
    "archive_cursors": define_table(
        {"table": v.string(), "after_time": v.number(), "after_id": v.string()}
    ).index("by_table", ["table"]),
}

schema = define_schema(
    {
        # -- hot state ------------------------------------------------------------------
        "agent_status": define_table(
            {
                "agent_id": v.string(),
                "name": v.string(),
                "status": AGENT_STATUS,
                "reason": v.nullable(v.string()),
                "status_since": v.number(),
                # When the agent last became available: the longest-idle ordering key.
                "available_since": v.nullable(v.number()),
                "heartbeat_at": v.number(),
                # The call the agent is reserved for or talking on (one at a time).
                "call_id": v.nullable(v.id("calls")),
                "reservation_kind": v.nullable(_enum("call", "transfer")),
                "reservation_expires_at": v.nullable(v.number()),
                "missed_in_row": v.number(),
                # cc-domain: available_since before the current offer (kept if the caller
                # abandons while it rings).
                "idle_before_offer": v.optional(v.nullable(v.number())),
                # Denormalised copy of agent_skills for routing (one read per candidate).
                "skills": SKILLS,
            }
        )
        .index("by_agent", ["agent_id"])
        .index("by_status_idle", ["status", "available_since"])
        .index("by_status_expiry", ["status", "reservation_expires_at"])
        # cc-domain: after-call-work timeout and presence expiry.
        .index("by_status_since", ["status", "status_since"])
        .index("by_status_heartbeat", ["status", "heartbeat_at"]),
        "agent_skills": define_table(
            {"agent_id": v.string(), "skill": v.string(), "level": v.number()}
        ).index("by_agent_skill", ["agent_id", "skill"]),
        "incoming_call_queue": define_table(
            {
                "call_id": v.id("calls"),
                "phone": v.string(),
                "customer_id": v.nullable(v.id("customers")),
                "queue": v.string(),
                "required_skills": SKILLS,
                "priority": v.number(),
                # -priority, so ascending index order is highest priority first.
                "rank": v.number(),
                "enqueued_at": v.number(),
                "state": _enum("waiting", "offered"),
                "offered_agent_id": v.nullable(v.string()),
                # Agents who declined or missed this call (re-offered only as a last resort).
                "skipped_agents": v.array(v.string()),
                # Escalation: after escalate_at the requirement relaxes to relaxed_skills.
                "escalate_at": v.optional(v.nullable(v.number())),
                "relaxed_skills": v.optional(v.nullable(SKILLS)),
                # cc-domain: a connected call an agent transferred to this queue.
                "transferred": v.optional(v.boolean()),
            }
        )
        .index("by_state_escalation", ["state", "escalate_at"])
        .index("by_state_rank", ["state", "rank", "enqueued_at"])
        # cc-domain: a caller's position within their own queue.
        .index("by_state_queue_rank", ["state", "queue", "rank", "enqueued_at"])
        .index("by_state_enqueued", ["state", "enqueued_at"])
        .index("by_call", ["call_id"])
        .index("by_phone", ["phone"]),
        "active_calls": define_table(
            {
                "call_id": v.id("calls"),
                "phone": v.string(),
                "agent_id": v.nullable(v.string()),
                "direction": DIRECTION,
                "state": _enum("queued", "ringing", "talking", "on_hold", "transferring"),
                "queue": v.nullable(v.string()),
                "started_at": v.number(),
                "answered_at": v.nullable(v.number()),
            }
        )
        .index("by_call", ["call_id"])
        .index("by_phone", ["phone"])
        .index("by_agent", ["agent_id"])
        .index("by_started", ["started_at"])
        # cc-domain: dials that never connect.
        .index("by_state_started", ["state", "started_at"]),
        "user_contact_tabs": define_table(
            {
                "agent_id": v.string(),
                "kind": _enum("customer", "call", "sms_thread", "phone"),
                "ref": v.string(),
                "title": v.string(),
                "position": v.number(),
                "active": v.boolean(),
                "opened_at": v.number(),
            }
        )
        .index("by_agent_position", ["agent_id", "position"])
        .index("by_agent_ref", ["agent_id", "kind", "ref"]),
        "call_queue": define_table(
            {
                "campaign_id": v.id("campaigns"),
                "phone": v.string(),
                "name": v.string(),
                "customer_id": v.nullable(v.id("customers")),
                "status": _enum("pending", "dialing", "done", "skipped"),
                "rank": v.number(),
                "attempts": v.number(),
                "next_attempt_at": v.number(),
                "agent_id": v.nullable(v.string()),
                "call_id": v.nullable(v.id("calls")),
                "outcome": v.nullable(v.string()),
            }
        )
        .index("by_campaign_status", ["campaign_id", "status", "rank", "next_attempt_at"])
        .index("by_call", ["call_id"]),
        "transfer_queue": define_table(
            {
                "call_id": v.id("calls"),
                "from_agent_id": v.string(),
                "to_agent_id": v.string(),
                "mode": _enum("warm", "cold"),
                "status": _enum("pending", "accepted", "declined", "canceled", "expired", "done"),
                "required_skills": SKILLS,
                "created_at": v.number(),
                "expires_at": v.number(),
                "resolved_at": v.nullable(v.number()),
            }
        )
        .index("by_to_status", ["to_agent_id", "status"])
        .index("by_from_status", ["from_agent_id", "status"])
        .index("by_call_status", ["call_id", "status"]),
        "sms_messages": define_table(
            {
                "thread_id": v.id("sms_threads"),
                "direction": DIRECTION,
                "body": v.string(),
                "status": v.string(),
                "message_sid": v.nullable(v.string()),
                "agent_id": v.nullable(v.string()),
                "at": v.number(),
                "error_code": v.nullable(v.number()),
                "archived": v.boolean(),
                # MMS: Twilio's media URLs (fetching them needs the account's credentials).
                "media": v.optional(
                    v.array(v.object({"url": v.string(), "content_type": v.string()}))
                ),
                # A copy hydrated from the archive: the id of the archived message.
                "archive_id": v.optional(v.string()),
                # cc-domain: "possible_opt_out" when an agent should confirm a revocation.
                "flag": v.optional(v.string()),
            }
        )
        .index("by_thread", ["thread_id", "at"])
        .index("by_sid", ["message_sid"])
        .index("by_archived", ["archived", "at"]),
        "sms_thread_locks": define_table(
            {
                "thread_id": v.id("sms_threads"),
                "agent_id": v.string(),
                "acquired_at": v.number(),
                "expires_at": v.number(),
            }
        )
        .index("by_thread", ["thread_id"])
        .index("by_expiry", ["expires_at"])
        .index("by_agent", ["agent_id"]),
        # -- records --------------------------------------------------------------------
        "sms_threads": define_table(
            {
                "phone": v.string(),
                "our_number": v.string(),
                "customer_id": v.nullable(v.id("customers")),
                "status": _enum("open", "closed"),
                "last_message_at": v.number(),
                "last_direction": DIRECTION,
                "preview": v.string(),
                "unread_count": v.number(),
                "message_count": v.number(),
            }
        )
        .index("by_phone", ["phone", "our_number"])
        .index("by_status_last", ["status", "last_message_at"])
        .index("by_unread", ["unread_count"]),
        "calls": define_table(
            {
                "call_sid": v.nullable(v.string()),
                "direction": DIRECTION,
                "phone": v.string(),
                "our_number": v.string(),
                "customer_id": v.nullable(v.id("customers")),
                "campaign_id": v.nullable(v.id("campaigns")),
                "lead_id": v.nullable(v.id("call_queue")),
                "queue": v.nullable(v.string()),
                "required_skills": SKILLS,
                "priority": v.number(),
                "agent_id": v.nullable(v.string()),
                "participants": v.array(PARTICIPANT),
                "status": CALL_STATUS,
                "created_at": v.number(),
                "day": v.string(),
                "enqueued_at": v.nullable(v.number()),
                "answered_at": v.nullable(v.number()),
                "ended_at": v.nullable(v.number()),
                "wrap_up_ended_at": v.nullable(v.number()),
                "hold_started_at": v.nullable(v.number()),
                "hold_ms": v.number(),
                "offers": v.number(),
                "transfers": v.number(),
                "disposition": v.nullable(v.string()),
                "notes": v.nullable(v.string()),
                "recording_ids": v.array(v.id("recordings")),
                "transcript_id": v.nullable(v.id("transcripts")),
                "last_sequence": v.number(),
                # cc-domain: CallSid of the agent's browser leg (outbound click-to-dial).
                "agent_leg_sid": v.optional(v.nullable(v.string())),
                # cc-domain: every agent who was connected (who may read its media).
                "handled_by": v.optional(v.array(v.string())),
            }
        )
        .index("by_sid", ["call_sid"])
        # cc-domain: the browser (agent) leg of click-to-dial; call_sid is the customer leg.
        .index("by_agent_leg", ["agent_leg_sid"])
        .index("by_agent_created", ["agent_id", "created_at"])
        .index("by_customer", ["customer_id", "created_at"])
        .index("by_day", ["day"]),
        "messages": define_table(
            {
                "call_id": v.id("calls"),
                "role": _enum("user", "assistant", "agent", "customer", "system"),
                "text": v.string(),
                # A streamed assistant answer: "streaming" while it grows, "done", or
                # "cut_off" when the stream failed part-way (``error`` says why).
                "status": v.optional(_enum("streaming", "done", "cut_off")),
                "error": v.optional(v.string()),
            }
        ).index("by_call", ["call_id"]),
        # -- Twilio: the legs and conference of each call (functions/twilio/) -----------
        # One row per Twilio call leg (CallSid): the customer's, each agent's ring leg,
        # transfer targets, supervisors, the dialled number of an outbound call, the
        # browser leg that placed it and an outside number a call is transferred to.
        # Status callbacks resolve to the call through it.
        "call_legs": define_table(
            {
                "call_sid": v.string(),
                "call_id": v.id("calls"),
                "role": _enum(
                    "customer",
                    "agent",
                    "transfer_target",
                    "supervisor",
                    "outside",
                    "browser",
                    "external",
                ),
                "agent_id": v.nullable(v.string()),
                # The outbox command that created the leg (offer.ring, call.transfer, ...).
                "command_id": v.nullable(v.string()),
                "status": v.string(),
                "sequence": v.number(),
                "answered_at": v.nullable(v.number()),
                "ended_at": v.nullable(v.number()),
                "created_at": v.number(),
            }
        )
        .index("by_sid", ["call_sid"])
        .index("by_call_role", ["call_id", "role"]),
        "call_conferences": define_table(
            {
                "call_id": v.id("calls"),
                "name": v.string(),
                "conference_sid": v.nullable(v.string()),
                "status": _enum("pending", "in_progress", "completed"),
                "updated_at": v.number(),
            }
        )
        .index("by_call", ["call_id"])
        .index("by_sid", ["conference_sid"]),
        "customers": define_table(
            {
                "name": v.string(),
                "phone": v.string(),
                "account_ref": v.nullable(v.string()),
                "tier": v.string(),
                "preferred_language": v.nullable(v.string()),
                "last_agent_id": v.nullable(v.string()),
                "last_contact_at": v.nullable(v.number()),
                # cc-domain: IANA zone of the customer (quiet hours use it first).
                "time_zone": v.optional(v.nullable(v.string())),
            }
        ).index("by_phone", ["phone"]),
        "queues": define_table(
            {
                "name": v.string(),
                "number": v.string(),
                "required_skills": SKILLS,
                "priority": v.number(),
                "sla_seconds": v.number(),
                "escalate_after_s": v.optional(v.nullable(v.number())),
                "escalated_skills": v.optional(v.nullable(SKILLS)),
                # Longest a caller waits for an agent before voicemail (None: no limit).
                "max_wait_s": v.optional(v.nullable(v.number())),
            }
        )
        .index("by_name", ["name"])
        .index("by_number", ["number"]),
        "campaigns": define_table(
            {
                "name": v.string(),
                "caller_id": v.string(),
                "status": _enum("active", "paused", "done"),
                "max_attempts": v.number(),
                "retry_after_ms": v.number(),
                "created_by": v.string(),
            }
        ),
        "recordings": define_table(
            {
                "call_id": v.id("calls"),
                "recording_sid": v.string(),
                "url": v.nullable(v.string()),
                "storage_key": v.nullable(v.string()),
                "duration_s": v.number(),
                "status": v.string(),
                "customer_id": v.nullable(v.id("customers")),
                **RECORDING_MEDIA,
            }
        )
        .index("by_call", ["call_id"])
        .index("by_sid", ["recording_sid"]),
        "transcripts": define_table(
            {
                "call_id": v.id("calls"),
                "customer_id": v.nullable(v.id("customers")),
                "agent_id": v.nullable(v.string()),
                "text": v.string(),
                "language": v.nullable(v.string()),
                "model": v.nullable(v.string()),
                **TRANSCRIPT_DETAIL,
                # cc-domain: the recording transcribed (a retry replaces, never adds).
                "recording_sid": v.optional(v.nullable(v.string())),
            }
        )
        .index("by_call", ["call_id"])
        .index("by_recording", ["recording_id"])
        .search_index(
            "search_text", search_field="text", filter_fields=["customer_id", "agent_id"]
        ),
        "voicemails": define_table(
            {
                "call_id": v.id("calls"),
                "phone": v.string(),
                "customer_id": v.nullable(v.id("customers")),
                "queue": v.nullable(v.string()),
                "recording_id": v.nullable(v.id("recordings")),
                "transcription": v.nullable(v.string()),
                "assigned_to": v.nullable(v.string()),
                "status": _enum("new", "assigned", "done"),
                "created_at": v.number(),
            }
        )
        .index("by_status", ["status", "created_at"])
        # cc-domain: an agent's own voicemails.
        .index("by_assignee", ["assigned_to", "status", "created_at"])
        .index("by_call", ["call_id"]),
        "scorecards": define_table(
            {
                "call_id": v.id("calls"),
                "agent_id": v.string(),
                "reviewer_id": v.string(),
                "source": _enum("human", "ai"),
                "greeting": SCORE,
                "product_knowledge": SCORE,
                "problem_resolution": SCORE,
                "professionalism": SCORE,
                "closing": SCORE,
                "average": v.number(),
                "feedback": v.string(),
                "coaching_notes": v.string(),
                "created_at": v.number(),
                "day": v.string(),
                # cc-domain: AI cards are unique per (call, model, prompt version).
                "prompt_version": v.optional(v.nullable(v.string())),
            }
        )
        .index("by_call", ["call_id"])
        .index("by_agent", ["agent_id", "created_at"]),
        "canned_responses": define_table(
            {
                "title": v.string(),
                "body": v.string(),
                "tags": v.array(v.string()),
                # "shared" (supervisors manage) or "agent:<id>" (personal).
                "scope": v.string(),
                "created_by": v.string(),
            }
        ).index("by_scope_title", ["scope", "title"]),
        "contact_points": define_table(
            {
                "phone": v.string(),
                "channel": _enum("voice", "sms"),
                "dnc": v.boolean(),
                "updated_at": v.number(),
                "source": v.string(),
            }
        ).index("by_phone_channel", ["phone", "channel"]),
        "compliance_events": define_table(
            {
                "phone": v.string(),
                "channel": _enum("voice", "sms"),
                "action": _enum(
                    "opt_out",
                    "opt_in",
                    "help",
                    "blocked_send",
                    "manual_dnc_add",
                    "manual_dnc_remove",
                ),
                "source": v.string(),
                "keyword": v.nullable(v.string()),
                "raw_body": v.nullable(v.string()),
                "ref_sid": v.nullable(v.string()),
                "actor_id": v.nullable(v.string()),
                "occurred_at": v.number(),
                "prev_state": v.nullable(v.boolean()),
                "new_state": v.nullable(v.boolean()),
                # cc-domain: why a send was refused ("dnc", "quiet_hours").
                "reason": v.optional(v.nullable(v.string())),
            }
        )
        # cc-domain: the compliance audit trail can only grow (enforced by the engine).
        .append_only()
        .index("by_phone", ["phone", "occurred_at"]),
        "agent_state_events": define_table(
            {
                "agent_id": v.string(),
                "from_status": AGENT_STATUS,
                "to_status": AGENT_STATUS,
                "reason": v.nullable(v.string()),
                "call_id": v.nullable(v.id("calls")),
                "at": v.number(),
                "duration_ms": v.number(),
            }
        ).index("by_agent", ["agent_id", "at"]),
        "call_events": define_table(
            {
                "call_sid": v.string(),
                "kind": v.string(),
                "sequence": v.number(),
                "status": v.string(),
                "payload": v.any(),
                "received_at": v.number(),
            }
        ).index("by_sid_kind_seq", ["call_sid", "kind", "sequence"]),
        **AI_TABLES,
        # -- cc-domain: centre configuration (functions/lib/settings.py) ----------------
        "center_settings": define_table(
            {
                "key": v.string(),
                "time_zone": v.optional(v.string()),
                "acw_timeout_s": v.optional(v.number()),
                "dial_timeout_s": v.optional(v.number()),
                "quiet_start": v.optional(v.string()),
                "quiet_end": v.optional(v.string()),
            }
        ).index("by_key", ["key"]),
        # -- end centre configuration -----------------------------------------------------
        # -- outbox (side effects as commands; see functions/lib/outbox.py) ------------
        "commands": define_table(
            {
                "kind": v.string(),
                "call_id": v.nullable(v.id("calls")),
                "agent_id": v.nullable(v.string()),
                "args": v.any(),
                "status": _enum("pending", "sent", "failed", "dead"),
                "attempts": v.number(),
                "last_error": v.nullable(v.string()),
                "created_at": v.number(),
                "updated_at": v.number(),
                # When the next attempt is due (a failed command waits out its backoff).
                "next_attempt_at": v.number(),
                # A dispatcher's lease while it runs the executor.
                "claimed_until": v.nullable(v.number()),
                "result": v.optional(v.any()),
                "idempotency_key": v.optional(v.string()),
            }
        )
        .index("by_status", ["status", "updated_at"])
        .index("by_call", ["call_id", "created_at"])
        .index("by_idempotency_key", ["idempotency_key"]),
        # -- end outbox -------------------------------------------------------------------
        # Daily aggregates, one document per (scope, day): "all" and "agent:<id>".
        "daily_stats": define_table(
            {
                "scope": v.string(),
                "day": v.string(),
                "agent_id": v.nullable(v.string()),
                "counters": v.record(v.string(), v.number()),
            }
        )
        .index("by_scope_day", ["scope", "day"])
        .index("by_day_scope", ["day", "scope"]),
    }
)
