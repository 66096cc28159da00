"""The official Python ``ConvexClient`` (WebSocket) works against reactor unchanged."""

from __future__ import annotations

from typing import Any

from convex.http_client import ConvexHttpClient

from tests.compat.python_client.pyclient import ADMIN_KEY, ServerProcess, user_token


def count(server: ServerProcess, name: str) -> Any:
    return ConvexHttpClient(server.url).query("tasks:count", {"list": name})


def test_query_mutation_action(server: ServerProcess, scenario: Any) -> None:
    run = scenario("basics", server.url, "basics")
    task_id = run.step("mutation")["value"]
    assert task_id["type"] == "str" and len(task_id["repr"]) > 30
    assert run.step("texts")["value"] == ["first"]
    counted = run.step("count")
    # len() is a plain int in the function: a Convex number, so a float in Python.
    assert counted["value"] == {"type": "float", "repr": "1.0"} and counted["plus_one"] == 2.0
    assert run.step("action")["value"] == "HI"
    assert run.step("count again")["value"] == 1.0
    run.finish()
    # Applied exactly once: the client never had to reconnect and re-send it.
    assert count(server, "basics") == 1


def test_subscription_sees_other_writers(server: ServerProcess, scenario: Any) -> None:
    run = scenario("subscribe", server.url, "sub")
    assert run.step("first")["value"] == []
    ConvexHttpClient(server.url).mutation("tasks:add", {"list": "sub", "text": "pushed"})
    run.tell("WRITTEN")
    assert run.step("update")["value"] == ["pushed"]
    run.finish()


def test_auth_and_admin(server: ServerProcess, scenario: Any) -> None:
    run = scenario("auth", server.url, user_token("py-user"), ADMIN_KEY)
    assert run.step("anonymous")["value"] is None
    assert "secret" in run.step("internal anonymous")["error"]["message"]
    assert run.step("signed in")["value"] == "py-user"
    task_id = run.step("wrote")["value"]
    assert run.step("signed out")["value"] is None
    assert run.step("internal as admin")["value"] == "internal"
    run.finish()
    admin = ConvexHttpClient(server.url)
    admin.set_admin_auth(ADMIN_KEY)
    assert admin.query("tasks:texts", {"list": "auth"}) == ["mine"]
    assert isinstance(task_id, str)


def test_errors_reach_the_caller(server: ServerProcess, scenario: Any) -> None:
    run = scenario("errors", server.url)
    query = run.step("query")["error"]
    assert query["kind"] == "ConvexError" and query["data"] == "{'code': 'nope', 'n': 3.0}"
    # A failed mutation returns at once (not only when some later Transition arrives).
    mutation = run.step("mutation")["error"]
    assert mutation["kind"] == "ConvexError"
    assert mutation["data"] == "{'code': 'nope', 'where': 'mutation'}"
    action = run.step("action")["error"]
    assert action["kind"] == "ConvexError" and "'where': 'action'" in action["data"]
    plain = run.step("plain")["error"]
    # reactor serve does not send an uncaught exception's text, only a request id.
    assert plain["kind"] == "Exception" and "Server Error: UncaughtError" in plain["message"]
    assert "kaboom" not in plain["message"]
    assert "could not find" in run.step("missing")["error"]["message"]
    assert run.step("after")["value"] == "OK"
    run.finish()


def test_result_over_the_chunk_threshold(server: ServerProcess, scenario: Any) -> None:
    # Above 5,000,000 characters the server would split a Transition into chunks, which
    # this client cannot reassemble; it announces itself, so it gets one large frame.
    run = scenario("big", server.url, "6000000")
    assert run.step("big")["length"] == 6_000_000
    run.finish()


def test_reconnect_after_restart(server: ServerProcess, scenario: Any) -> None:
    run = scenario("reconnect", server.url, "rc")
    assert run.step("first")["value"] == []
    assert run.step("before")["value"] == ["before"]
    server.stop()
    server.start()  # same port, same database
    ConvexHttpClient(server.url).mutation("tasks:add", {"list": "rc", "text": "after restart"})
    run.tell("RESTARTED")
    assert run.step("resubscribed")["value"] == ["before", "after restart"]
    assert run.step("after")["value"] == ["before", "after restart", "after"]
    run.finish()
    # The mutation answered before the restart was not sent (and applied) again.
    assert count(server, "rc") == 3
