"""The official Python ``ConvexHttpClient`` works against reactor unchanged."""

from __future__ import annotations

import pytest
from convex import ConvexError, ConvexInt64
from convex.http_client import ConvexExecutionError, ConvexHttpClient

from tests.compat.python_client.pyclient import ADMIN_KEY, ServerProcess, user_token


def test_query_mutation_action(server: ServerProcess) -> None:
    client = ConvexHttpClient(server.url)
    task_id = client.mutation("tasks:add", {"list": "http", "text": "one"})
    assert isinstance(task_id, str)
    assert client.query("tasks:texts", {"list": "http"}) == ["one"]
    count = client.query("tasks:count", {"list": "http"})
    assert isinstance(count, float) and count + 1 == 2.0
    assert client.action("tasks:shout", {"text": "hey"}) == "HEY"


def test_int64_values_are_explicit(server: ServerProcess) -> None:
    client = ConvexHttpClient(server.url)
    assert client.mutation("tasks:tally", {"name": "t", "by": ConvexInt64(5)}) == ConvexInt64(5)
    assert client.mutation("tasks:tally", {"name": "t", "by": ConvexInt64(2)}) == ConvexInt64(7)
    # A Python int is a Convex number, and an int64 argument does not take a number.
    with pytest.raises(ConvexExecutionError, match="int64"):
        client.mutation("tasks:tally", {"name": "t", "by": 1})


def test_auth_and_admin(server: ServerProcess) -> None:
    client = ConvexHttpClient(server.url)
    assert client.query("tasks:whoami") is None
    client.set_auth(user_token("http-user"))
    assert client.query("tasks:whoami") == "http-user"
    client.clear_auth()
    with pytest.raises(Exception, match="secret"):
        client.query("tasks:secret")
    client.set_admin_auth(ADMIN_KEY)
    assert client.query("tasks:secret") == "internal"


def test_errors(server: ServerProcess) -> None:
    client = ConvexHttpClient(server.url)
    for kind, name, where in (
        ("query", "tasks:fail_query", None),
        ("mutation", "tasks:fail_mutation", "mutation"),
        ("action", "tasks:fail_action", "action"),
    ):
        with pytest.raises(ConvexError) as caught:
            getattr(client, kind)(name)
        assert caught.value.data["code"] == "nope"
        if where is not None:
            assert caught.value.data["where"] == where
    # reactor serve does not send an uncaught exception's text, only a request id.
    with pytest.raises(ConvexExecutionError, match="Server Error: UncaughtError") as crashed:
        client.mutation("tasks:crash")
    assert "kaboom" not in str(crashed.value)
