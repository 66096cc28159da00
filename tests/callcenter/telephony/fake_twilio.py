"""A loopback fake of Twilio's REST API (2010-04-01) that speaks its wire format.

Form-encoded ``POST``/``DELETE``/``GET`` to ``/2010-04-01/Accounts/{AccountSid}/...json``
with HTTP Basic auth, JSON answers shaped like Twilio's (snake_case fields, list pages
with ``next_page_uri``), Twilio error bodies (``{"code", "message", "more_info",
"status"}``). Every request is recorded with its form (repeated keys and blank values
kept) so tests assert exactly what the real ``twilio`` SDK sent.

It is strict on purpose: an unknown path is a 404, an unknown form parameter a 400, a
method it does not implement a 501, so drift between the code and the SDK's wire shape
fails a test instead of passing silently.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SID_RE = {p: re.compile(rf"^{p}[0-9a-f]{{32}}$") for p in ("CA", "CF", "RE", "SM", "MG")}

PARTICIPANT_CREATE = {
    "From",
    "To",
    "StatusCallback",
    "StatusCallbackMethod",
    "StatusCallbackEvent",
    "Label",
    "Timeout",
    "Record",
    "Muted",
    "Beep",
    "StartConferenceOnEnter",
    "EndConferenceOnExit",
    "WaitUrl",
    "WaitMethod",
    "EarlyMedia",
    "Coaching",
    "CallSidToCoach",
    "CallerId",
    "ConferenceStatusCallback",
    "ConferenceStatusCallbackEvent",
    "ConferenceRecord",
    "ConferenceRecordingStatusCallback",
    "ConferenceRecordingStatusCallbackEvent",
    "RecordingChannels",
    "RecordingStatusCallback",
    "RecordingStatusCallbackEvent",
    "TimeLimit",
}
PARTICIPANT_UPDATE = {
    "Hold",
    "HoldUrl",
    "HoldMethod",
    "Muted",
    "Coaching",
    "CallSidToCoach",
    "EndConferenceOnExit",
    "AnnounceUrl",
    "AnnounceMethod",
    "BeepOnExit",
}
CALL_CREATE = {
    "To",
    "From",
    "Url",
    "Method",
    "Twiml",
    "StatusCallback",
    "StatusCallbackEvent",
    "StatusCallbackMethod",
    "Timeout",
    "CallerId",
    "Record",
}
CALL_UPDATE = {"Status", "Twiml", "Url", "Method", "StatusCallback", "StatusCallbackMethod"}
RECORDING_CREATE = {
    "RecordingChannels",
    "RecordingStatusCallback",
    "RecordingStatusCallbackEvent",
    "RecordingStatusCallbackMethod",
    "RecordingTrack",
    "Trim",
}
RECORDING_UPDATE = {"Status", "PauseBehavior"}
CONFERENCE_UPDATE = {"Status", "AnnounceUrl", "AnnounceMethod"}
MESSAGE_CREATE = {
    "To",
    "From",
    "MessagingServiceSid",
    "Body",
    "MediaUrl",
    "StatusCallback",
    "ValidityPeriod",
}


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str  # below /2010-04-01/Accounts/{sid}, e.g. "/Conferences/CF.../Participants.json"
    auth_user: str | None
    form: list[tuple[str, str]]
    query: list[tuple[str, str]]
    status: int = 0
    answer: Any = None  # the JSON body the fake answered with

    def get(self, key: str) -> str | None:
        values = [v for k, v in self.form if k == key]
        return values[0] if values else None

    def getall(self, key: str) -> list[str]:
        return [v for k, v in self.form if k == key]

    def keys(self) -> set[str]:
        return {k for k, _ in self.form}


@dataclass
class FakeState:
    conferences: dict[str, dict[str, Any]] = field(default_factory=dict)  # sid -> conference
    participants: dict[str, dict[str, Any]] = field(default_factory=dict)  # call sid -> participant
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeTwilio:
    """Start with :meth:`start`, point ``TWILIO_API_BASE`` at :attr:`base_url`."""

    def __init__(self, account_sid: str, username: str, password: str) -> None:
        self.account_sid = account_sid
        self.credentials = (username, password)
        self.requests: list[Recorded] = []
        self.state = FakeState()
        # Numbers whose Messages.create fails: To -> (http status, Twilio code, message).
        self.message_failures: dict[str, tuple[int, int, str]] = {}
        # Call sids whose update answers 404 (the call already ended on Twilio's side).
        self.gone_calls: set[str] = set()
        self.recording_media: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_DELETE(self) -> None:
                fake._serve(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- helpers for tests -------------------------------------------------------------

    def new_sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):032x}"

    def calls_to(self, method: str, pattern: str) -> list[Recorded]:
        """Recorded requests whose method matches and whose path matches ``pattern``."""
        rx = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if r.method == method and rx.search(r.path)]

    def summary(self) -> list[tuple[str, str]]:
        """``(method, path with sids replaced by their prefix)`` for every request."""
        out = []
        with self._lock:
            for r in self.requests:
                out.append((r.method, re.sub(r"\b(CA|CF|RE|SM)[0-9a-f]{32}\b", r"\1", r.path)))
        return out

    def conference_named(self, name: str) -> dict[str, Any] | None:
        for conf in self.state.conferences.values():
            if conf["friendly_name"] == name:
                return conf
        return None

    def conference(self, name: str) -> dict[str, Any]:
        """The conference called ``name``, which must exist."""
        conf = self.conference_named(name)
        assert conf is not None, f"no conference named {name!r}"
        return conf

    # -- the server --------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        form = parse_qsl(raw, keep_blank_values=True)
        query = parse_qsl(url.query, keep_blank_values=True)
        user = self._auth_user(h.headers.get("Authorization"))
        prefix = f"/2010-04-01/Accounts/{self.account_sid}"
        sub = url.path[len(prefix) :] if url.path.startswith(prefix) else None
        record = Recorded(method, sub or url.path, user, form, query)
        with self._lock:
            self.requests.append(record)
        try:
            if user is None:
                raise TwilioError(401, 20003, "Authenticate")
            if sub is None:
                raise TwilioError(404, 20404, f"The requested resource {url.path} was not found")
            if (
                method == "POST"
                and form
                and h.headers.get("Content-Type", "").split(";")[0]
                != ("application/x-www-form-urlencoded")
            ):
                raise TwilioError(400, 20001, "form body must be application/x-www-form-urlencoded")
            with self._lock:
                status, body = self._route(method, sub, form, query)
        except TwilioError as err:
            status = err.status
            body = {
                "code": err.code,
                "message": err.message,
                "more_info": f"https://www.twilio.com/docs/errors/{err.code}",
                "status": err.status,
            }
        record.status, record.answer = status, body
        if status == 204:
            h.send_response(204)
            h.end_headers()
            return
        if isinstance(body, bytes):
            data, ctype = body, "audio/mpeg"
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _auth_user(self, header: str | None) -> str | None:
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        return user if (user, password) == self.credentials else None

    def _route(
        self, method: str, sub: str, form: list[tuple[str, str]], query: list[tuple[str, str]]
    ) -> tuple[int, Any]:
        parts = sub.strip("/").split("/")
        if parts == ["Calls.json"] and method == "POST":
            return self._create_call(form)
        if len(parts) == 2 and parts[0] == "Calls" and method == "POST":
            return self._update_call(parts[1].removesuffix(".json"), form)
        if len(parts) == 3 and parts[0] == "Calls" and parts[2] == "Recordings.json":
            if method == "GET":
                self._valid("CA", parts[1])
                items = [
                    {"account_sid": self.account_sid, **r}
                    for r in self.state.recordings.values()
                    if r["call_sid"] == parts[1]
                ]
                return 200, self._page("recordings", items)
            return self._create_recording(parts[1], form)
        if len(parts) == 4 and parts[0] == "Calls" and parts[2] == "Recordings":
            return self._update_recording(parts[3].removesuffix(".json"), form)
        if parts == ["Conferences.json"] and method == "GET":
            return self._list_conferences(query)
        if len(parts) == 2 and parts[0] == "Conferences" and method == "POST":
            return self._update_conference(parts[1].removesuffix(".json"), form)
        if len(parts) == 3 and parts[0] == "Conferences" and parts[2] == "Participants.json":
            if method == "POST":
                return self._create_participant(parts[1], form)
            if method == "GET":
                conf = self._conference(parts[1])
                items = [
                    p
                    for p in self.state.participants.values()
                    if p["conference_sid"] == conf["sid"]
                ]
                return 200, self._page("participants", items)
        if len(parts) == 4 and parts[0] == "Conferences" and parts[2] == "Participants":
            call_sid = parts[3].removesuffix(".json")
            if method == "POST":
                return self._update_participant(parts[1], call_sid, form)
            if method == "DELETE":
                return self._delete_participant(parts[1], call_sid)
        if parts == ["Messages.json"] and method == "POST":
            return self._create_message(form)
        if len(parts) == 2 and parts[0] == "Recordings" and method == "GET":
            sid = parts[1].rsplit(".", 1)[0]
            if sid in self.recording_media:
                return 200, self.recording_media[sid]
        raise TwilioError(404, 20404, f"The requested resource {sub} was not found")

    # -- resources ---------------------------------------------------------------------

    @staticmethod
    def _check(
        form: list[tuple[str, str]], allowed: set[str], required: tuple[str, ...] = ()
    ) -> dict[str, str]:
        for key, _ in form:
            if key not in allowed:
                raise TwilioError(400, 20001, f"Unknown parameter {key}")
        values = dict(form)
        for key in required:
            if not values.get(key):
                raise TwilioError(
                    400, 21201 if key == "To" else 20001, f"Missing required parameter {key}"
                )
        return values

    @staticmethod
    def _bool(values: dict[str, str], key: str) -> bool | None:
        if key not in values:
            return None
        if values[key] not in ("true", "false"):
            raise TwilioError(400, 20001, f"{key} must be true or false")
        return values[key] == "true"

    def _page(self, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            key: items,
            "first_page_uri": None,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": max(0, len(items) - 1),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/{key}.json",
        }

    def _call_json(self, sid: str) -> dict[str, Any]:
        call = self.state.calls.setdefault(sid, {"sid": sid, "status": "in-progress"})
        return {"account_sid": self.account_sid, **call}

    def _valid(self, prefix: str, sid: str) -> None:
        if not SID_RE[prefix].match(sid):
            raise TwilioError(404, 20404, f"The requested resource {sid} was not found")

    def _create_call(self, form: list[tuple[str, str]]) -> tuple[int, Any]:
        values = self._check(form, CALL_CREATE, ("To", "From"))
        if not values.get("Url") and not values.get("Twiml"):
            raise TwilioError(400, 21205, "Url or Twiml is required")
        sid = self.new_sid("CA")
        self.state.calls[sid] = {
            "sid": sid,
            "status": "queued",
            "to": values["To"],
            "from": values["From"],
        }
        return 201, self._call_json(sid)

    def _update_call(self, sid: str, form: list[tuple[str, str]]) -> tuple[int, Any]:
        self._valid("CA", sid)
        values = self._check(form, CALL_UPDATE)
        if sid in self.gone_calls:
            raise TwilioError(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        call = self._call_json(sid)
        if values.get("Status") in ("completed", "canceled"):
            self.state.calls[sid]["status"] = values["Status"]
            self.state.participants.pop(sid, None)
            call = self._call_json(sid)
        return 200, call

    def _create_recording(self, call_sid: str, form: list[tuple[str, str]]) -> tuple[int, Any]:
        self._valid("CA", call_sid)
        self._check(form, RECORDING_CREATE)
        sid = self.new_sid("RE")
        rec = {"sid": sid, "call_sid": call_sid, "status": "in-progress", "channels": 2}
        self.state.recordings[sid] = rec
        return 201, {"account_sid": self.account_sid, **rec}

    def _update_recording(self, sid: str, form: list[tuple[str, str]]) -> tuple[int, Any]:
        self._valid("RE", sid)
        values = self._check(form, RECORDING_UPDATE, ("Status",))
        rec = self.state.recordings.get(sid)
        if rec is None:
            raise TwilioError(404, 20404, f"The requested resource {sid} was not found")
        rec["status"] = values["Status"]
        return 200, {"account_sid": self.account_sid, **rec}

    def _conference(self, key: str, create: bool = False) -> dict[str, Any]:
        if SID_RE["CF"].match(key):
            conf = self.state.conferences.get(key)
            if conf is None:
                raise TwilioError(404, 20404, f"Conference {key} was not found")
            return conf
        conf = self.conference_named(key)
        if conf is not None and conf["status"] != "completed":
            return conf
        if not create:
            raise TwilioError(404, 20404, f"Conference {key} was not found")
        sid = self.new_sid("CF")
        conf = {"sid": sid, "friendly_name": key, "status": "in-progress"}
        self.state.conferences[sid] = conf
        return conf

    def _list_conferences(self, query: list[tuple[str, str]]) -> tuple[int, Any]:
        q = dict(query)
        items = [
            {"account_sid": self.account_sid, **c}
            for c in self.state.conferences.values()
            if ("FriendlyName" not in q or c["friendly_name"] == q["FriendlyName"])
            and ("Status" not in q or c["status"] == q["Status"])
        ]
        return 200, self._page("conferences", items)

    def _update_conference(self, sid: str, form: list[tuple[str, str]]) -> tuple[int, Any]:
        self._valid("CF", sid)
        values = self._check(form, CONFERENCE_UPDATE)
        conf = self._conference(sid)
        if values.get("Status") == "completed":
            conf["status"] = "completed"
            for p in [p for p in self.state.participants.values() if p["conference_sid"] == sid]:
                del self.state.participants[p["call_sid"]]
        return 200, {"account_sid": self.account_sid, **conf}

    def _create_participant(self, key: str, form: list[tuple[str, str]]) -> tuple[int, Any]:
        values = self._check(form, PARTICIPANT_CREATE, ("From", "To"))
        for flag in (
            "Muted",
            "Coaching",
            "EarlyMedia",
            "EndConferenceOnExit",
            "StartConferenceOnEnter",
            "Record",
        ):
            self._bool(values, flag)
        if values.get("Coaching") == "true" and not values.get("CallSidToCoach"):
            raise TwilioError(400, 16024, "CallSidToCoach is required when Coaching is true")
        events = [v for k, v in form if k == "StatusCallbackEvent"]
        for ev in events:
            if ev not in ("initiated", "ringing", "answered", "completed"):
                raise TwilioError(400, 20001, f"invalid StatusCallbackEvent {ev}")
        conf = self._conference(key, create=True)
        call_sid = self.new_sid("CA")
        part = {
            "call_sid": call_sid,
            "conference_sid": conf["sid"],
            "label": values.get("Label"),
            "status": "queued",
            "hold": False,
            "muted": values.get("Muted") == "true",
            "coaching": values.get("Coaching") == "true",
            "call_sid_to_coach": values.get("CallSidToCoach"),
            "to": values["To"],
        }
        self.state.participants[call_sid] = part
        self.state.calls[call_sid] = {"sid": call_sid, "status": "queued", "to": values["To"]}
        return 201, {"account_sid": self.account_sid, **part}

    def _participant(self, conf_key: str, call_sid: str) -> dict[str, Any]:
        self._valid("CF", conf_key)
        self._valid("CA", call_sid)
        conf = self._conference(conf_key)
        part = self.state.participants.get(call_sid)
        if part is None:
            # A call that joined through TwiML (the customer) is a participant too.
            part = {
                "call_sid": call_sid,
                "conference_sid": conf["sid"],
                "label": None,
                "status": "connected",
                "hold": False,
                "muted": False,
                "coaching": False,
                "call_sid_to_coach": None,
            }
            self.state.participants[call_sid] = part
        if part["conference_sid"] != conf["sid"]:
            raise TwilioError(404, 20404, f"Participant {call_sid} is not in {conf_key}")
        return part

    def _update_participant(
        self, conf_key: str, call_sid: str, form: list[tuple[str, str]]
    ) -> tuple[int, Any]:
        values = self._check(form, PARTICIPANT_UPDATE)
        part = self._participant(conf_key, call_sid)
        for flag, key in (("Hold", "hold"), ("Muted", "muted"), ("Coaching", "coaching")):
            value = self._bool(values, flag)
            if value is not None:
                part[key] = value
        if "CallSidToCoach" in values:
            part["call_sid_to_coach"] = values["CallSidToCoach"]
        return 200, {"account_sid": self.account_sid, **part}

    def _delete_participant(self, conf_key: str, call_sid: str) -> tuple[int, Any]:
        self._participant(conf_key, call_sid)
        del self.state.participants[call_sid]
        return 204, None

    def _create_message(self, form: list[tuple[str, str]]) -> tuple[int, Any]:
        values = self._check(form, MESSAGE_CREATE, ("To",))
        if not values.get("From") and not values.get("MessagingServiceSid"):
            raise TwilioError(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        media = [v for k, v in form if k == "MediaUrl"]
        if not values.get("Body") and not media:
            raise TwilioError(400, 21602, "Message body is required")
        failure = self.message_failures.get(values["To"])
        if failure is not None:
            raise TwilioError(*failure)
        sid = self.new_sid("SM")
        msg = {
            "sid": sid,
            "status": "accepted" if values.get("MessagingServiceSid") else "queued",
            "to": values["To"],
            "from": values.get("From"),
            "messaging_service_sid": values.get("MessagingServiceSid"),
            "body": values.get("Body", ""),
            "num_media": str(len(media)),
            "error_code": None,
            "error_message": None,
            "direction": "outbound-api",
        }
        self.state.messages[sid] = msg
        return 201, {"account_sid": self.account_sid, **msg}
