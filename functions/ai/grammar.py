"""Grammar suggestions for an SMS draft, before the agent sends it.

``ai/grammar:suggest {thread_id, draft}`` answers
``{"text": draft, "suggestions": [{"start", "end", "original", "replacement", "reason"}]}``:
spans of the draft (character offsets, ``draft[start:end] == original``) with a suggested
replacement. It never changes or sends the text: the agent applies what they accept.

Only the agent holding the thread's lock may ask (the one replying right now). Only the
draft goes to OpenAI, not the conversation. Suggestions that would touch a placeholder
(``{name}``), a URL, an e-mail address or a number (amounts, dates, order numbers) are
dropped, as are ones whose original text is not in the draft or that overlap another.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reactor import ActionCtx, QueryCtx, UserError, action, internal_query, v

from ..lib.auth import me
from ..sms import locks
from . import openai_client

PROMPT_VERSION = "grammar-v1"
MAX_DRAFT_CHARS = 1600  # ten SMS segments
MAX_SUGGESTIONS = 20
PROMPT = (
    "You proofread SMS replies written by contact-center agents. List grammar, spelling "
    "and punctuation fixes only. Never change meaning, tone, names, numbers, amounts, "
    "dates, URLs or placeholders in braces. For each fix give the exact original text "
    "as it appears in the draft, its replacement, and a short reason."
)
SCHEMA_NAME = "grammar_suggestions"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "suggestions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "original": {"type": "string"},
                    "replacement": {"type": "string"},
                    "reason": {"type": "string"},
                },
                "required": ["original", "replacement", "reason"],
            },
        }
    },
    "required": ["suggestions"],
}
PROTECTED = re.compile(r"\{[^{}]*\}|https?://\S+|www\.\S+|\S+@\S+\.\S+|\d[\d.,:/-]*")


@internal_query(args={"thread_id": v.id("sms_threads")})
def lock_holder(ctx: QueryCtx, thread_id: str) -> Any:
    """Who holds the thread's (unexpired) lock, or None."""
    return locks.holder(ctx, thread_id)


def spans(draft: str, suggestions: list[Any]) -> list[dict[str, Any]]:
    """Place each suggestion on the draft; keep only safe, non-overlapping ones."""
    protected = [m.span() for m in PROTECTED.finditer(draft)]
    taken: list[tuple[int, int]] = []
    out: list[dict[str, Any]] = []
    for s in suggestions[: MAX_SUGGESTIONS * 2]:
        if not isinstance(s, dict):
            continue
        original, replacement = s.get("original"), s.get("replacement")
        reason = s["reason"] if isinstance(s.get("reason"), str) else ""
        if not isinstance(original, str) or not isinstance(replacement, str):
            continue
        if not original or original == replacement:
            continue
        start = _free_occurrence(draft, original, taken)
        if start is None:
            continue
        end = start + len(original)
        if any(a < end and start < b for a, b in protected):
            continue
        taken.append((start, end))
        out.append(
            {
                "start": start,
                "end": end,
                "original": original,
                "replacement": replacement[: len(original) * 3 + 40],
                "reason": reason[:200],
            }
        )
        if len(out) >= MAX_SUGGESTIONS:
            break
    return sorted(out, key=lambda s: s["start"])


def _free_occurrence(draft: str, original: str, taken: list[tuple[int, int]]) -> int | None:
    start = draft.find(original)
    while start != -1:
        end = start + len(original)
        if not any(a < end and start < b for a, b in taken):
            return start
        start = draft.find(original, start + 1)
    return None


@action(args={"thread_id": v.id("sms_threads"), "draft": v.string()})
async def suggest(ctx: ActionCtx, thread_id: str, draft: str) -> Any:
    """Suggested fixes for the draft as spans; only for the agent holding the lock."""
    agent_id = me(ctx)
    if len(draft) > MAX_DRAFT_CHARS:
        raise UserError(
            {"code": "draft_too_long", "max_chars": MAX_DRAFT_CHARS, "length": len(draft)}
        )
    holder = await ctx.run_query("ai/grammar:lock_holder", {"thread_id": thread_id})
    if holder != agent_id:
        raise UserError(
            {"code": "lock_required", "message": "take the thread's lock first", "holder": holder}
        )
    if not draft.strip():
        return {"text": draft, "suggestions": []}
    try:
        async with openai_client.client(ctx) as client:
            response = await client.chat.completions.create(
                model=openai_client.chat_model(ctx),
                temperature=0,
                messages=[
                    {"role": "system", "content": PROMPT},
                    {"role": "user", "content": draft},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SCHEMA},
                },
            )
    except UserError:
        raise
    except Exception as exc:
        raise UserError(
            {"code": "ai_unavailable", "message": openai_client.describe(exc)}
        ) from None
    message = response.choices[0].message if response.choices else None
    if message is None or getattr(message, "refusal", None) or not message.content:
        return {"text": draft, "suggestions": []}
    try:
        data = json.loads(message.content)
    except ValueError:
        raise UserError(
            {"code": "ai_malformed", "message": "the suggestions were not JSON"}
        ) from None
    found = data.get("suggestions") if isinstance(data, dict) else None
    return {"text": draft, "suggestions": spans(draft, found if isinstance(found, list) else [])}
