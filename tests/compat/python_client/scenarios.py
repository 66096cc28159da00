"""Scenarios that drive the official Python ``ConvexClient`` (WebSocket), one per process.

Run as ``python scenarios.py NAME URL [ARG...]``. Each scenario prints what it observed
as JSON lines (``{"step": ..., ...}``) for the test to check. They run in a child process
because the client's blocking calls hold the GIL: a hang cannot be interrupted from
inside the process, only by the parent's timeout. A few scenarios wait for the parent
(a line on stdin) at points where the parent changes something, such as restarting the
server.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import convex


def say(step: str, **fields: Any) -> None:
    print(json.dumps({"step": step, **fields}, default=repr), flush=True)


def wait_for_parent(expected: str) -> None:
    line = sys.stdin.readline().strip()
    if line != expected:
        raise SystemExit(f"expected {expected!r} from the test, got {line!r}")


def describe(value: Any) -> dict[str, Any]:
    return {"type": type(value).__name__, "repr": repr(value)}


def failure(call: Any) -> dict[str, Any]:
    try:
        value = call()
    except convex.ConvexError as exc:
        return {"kind": "ConvexError", "message": str(exc), "data": repr(exc.data)}
    except Exception as exc:  # the client raises plain Exception for other failures
        return {"kind": type(exc).__name__, "message": str(exc)}
    return {"kind": "no error", "value": repr(value)}


def basics(url: str, name: str) -> None:
    client = convex.ConvexClient(url)
    task_id = client.mutation("tasks:add", {"list": name, "text": "first"})
    say("mutation", value=describe(task_id))
    say("texts", value=client.query("tasks:texts", {"list": name}))
    count = client.query("tasks:count", {"list": name})
    say("count", value=describe(count), plus_one=count + 1)
    say("action", value=client.action("tasks:shout", {"text": "hi"}))
    # The mutation's socket stayed up: more calls still answer, and nothing re-ran it.
    say("count again", value=client.query("tasks:count", {"list": name}))


def subscribe(url: str, name: str) -> None:
    client = convex.ConvexClient(url)
    subscription = client.subscribe("tasks:texts", {"list": name})
    say("first", value=next(subscription))
    wait_for_parent("WRITTEN")
    say("update", value=next(subscription))


def auth(url: str, token: str, admin_key: str) -> None:
    client = convex.ConvexClient(url)
    say("anonymous", value=client.query("tasks:whoami"))
    say("internal anonymous", error=failure(lambda: client.query("tasks:secret")))
    client.set_auth(token)
    say("signed in", value=client.query("tasks:whoami"))
    task_id = client.mutation("tasks:add", {"list": "auth", "text": "mine"})
    say("wrote", value=task_id)
    client.clear_auth()
    say("signed out", value=client.query("tasks:whoami"))
    client.set_admin_auth(admin_key)
    say("internal as admin", value=client.query("tasks:secret"))


def errors(url: str) -> None:
    client = convex.ConvexClient(url)
    say("query", error=failure(lambda: client.query("tasks:fail_query")))
    say("mutation", error=failure(lambda: client.mutation("tasks:fail_mutation")))
    say("action", error=failure(lambda: client.action("tasks:fail_action")))
    say("plain", error=failure(lambda: client.mutation("tasks:crash")))
    say("missing", error=failure(lambda: client.query("tasks:nothing")))
    # Still connected and answering after the failures.
    say("after", value=client.action("tasks:shout", {"text": "ok"}))


def big(url: str, size: str) -> None:
    client = convex.ConvexClient(url)
    value = client.query("tasks:big", {"size": float(size)})
    say("big", length=len(value))


def texts(value: object) -> list[str]:
    """The result of ``tasks:texts``: a list of strings."""
    assert isinstance(value, list) and all(isinstance(t, str) for t in value), value
    return value


def reconnect(url: str, name: str) -> None:
    client = convex.ConvexClient(url)
    subscription = client.subscribe("tasks:texts", {"list": name})
    say("first", value=next(subscription))
    client.mutation("tasks:add", {"list": name, "text": "before"})
    say("before", value=next(subscription))
    wait_for_parent("RESTARTED")
    # The client reconnects by itself, subscribes again and sees the newer state.
    value = texts(next(subscription))
    while "after restart" not in value:
        value = texts(next(subscription))
    say("resubscribed", value=value)
    client.mutation("tasks:add", {"list": name, "text": "after"})
    value = texts(next(subscription))
    while "after" not in value:
        value = texts(next(subscription))
    say("after", value=value)


SCENARIOS = {f.__name__: f for f in (basics, subscribe, auth, errors, big, reconnect)}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](*sys.argv[2:])
