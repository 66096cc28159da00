"""Helpers for the voice tests: find the legs the executor created, play their callbacks."""

from __future__ import annotations

import re
from typing import Any

from reactor import Engine

from ..helpers import SUPERVISOR
from .fake_twilio import FakeTwilio, Recorded
from .harness import ACCOUNT_SID, PUBLIC_BASE, Twilio, incoming_form, settle

CALLER = "+14155550100"


def path_of(url: str | None) -> str:
    assert url is not None and url.startswith(PUBLIC_BASE), url
    return url[len(PUBLIC_BASE) :]


class Ring:
    """One participant the executor added (an agent ring, a supervisor, a dialled number)."""

    def __init__(self, request: Recorded, leg_sid: str) -> None:
        self.request = request
        self.leg_sid = leg_sid
        self.callback = path_of(request.get("StatusCallback"))


def rings(fake: FakeTwilio, to: str) -> list[Ring]:
    """Participants added for ``to`` (``client:agent-1``, a number), oldest first."""
    return [
        Ring(r, r.answer["call_sid"])
        for r in fake.calls_to("POST", r"/Participants\.json$")
        if r.get("To") == to and r.status == 201
    ]


def summary_since(
    fake: FakeTwilio, start: int
) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(method, path with sids generalised, key fields) of the requests after ``start``."""
    keep = ("To", "Status", "Hold", "Muted", "Coaching", "RecordingChannels")
    out = []
    for r in fake.requests[start:]:
        path = re.sub(r"\b(CA|CF|RE|SM)[0-9a-f]{32}\b", r"\1", r.path)
        path = re.sub(r"call_[A-Za-z0-9_-]+", "call_X", path)
        out.append((r.method, path, tuple((k, v) for k, v in r.form if k in keep)))
    return sorted(out)


async def incoming(cc: Engine, twilio: Twilio, call_sid: str, caller: str = CALLER) -> str:
    response = await twilio.post("/twilio/voice/incoming", incoming_form(call_sid, caller))
    assert response.status_code == 200, response.text
    rows = await cc.query("dashboard:active_calls", {}, identity=SUPERVISOR)
    (row,) = [r for r in rows if r["phone"] == caller]
    await settle(cc)
    return str(row["call_id"])


async def conference_event(
    twilio: Twilio, call_id: str, event: str, conference_sid: str, **extra: str
) -> None:
    params: dict[str, Any] = {
        "AccountSid": ACCOUNT_SID,
        "ConferenceSid": conference_sid,
        "FriendlyName": f"call_{call_id}",
        "StatusCallbackEvent": event,
        "SequenceNumber": str(twilio.next_sequence(conference_sid)),
        "Timestamp": "Wed, 18 Nov 2026 10:00:00 +0000",
        **extra,
    }
    r = await twilio.post(f"/twilio/voice/conference?callId={call_id}", params)
    assert r.status_code == 204, r.text


async def leg(twilio: Twilio, url_path: str, call_sid: str, status: str) -> None:
    r = await twilio.leg(url_path, call_sid, status)
    assert r.status_code == 204, r.text


async def agent_status(cc: Engine, agent_id: str) -> str:
    me = await cc.query("agents:me_status", {"agent_id": agent_id}, identity=SUPERVISOR)
    return str(me["status"])
