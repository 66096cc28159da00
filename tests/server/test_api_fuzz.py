"""Random requests at the HTTP API: never a 500, always a well-formed answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.projects import CHAT
from tests.support.server import ADMIN_KEY, ThreadedServer
from tests.support.tokens import hs256_token


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    db = tmp_path_factory.mktemp("fuzz") / "data.db"
    with ThreadedServer(CHAT, f"sqlite:///{db}") as srv:
        yield srv
    assert not srv.errors, [r.getMessage() for r in srv.errors]


@pytest.fixture(scope="module")
def http(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


text = st.text(max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
    | st.sampled_from([{"$integer": "AQAAAAAAAAA="}, {"$bytes": "!!"}, {"$float": "AAAAAAAA+H8="}]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3),
    max_leaves=8,
)
paths = st.sampled_from(
    ["counters:value", "counters:increment", "pairs:echo", "pairs:secret", "nope:x", "", "a/b:c"]
)
query_item = st.fixed_dictionaries(
    {"path": paths}, optional={"args": json_values, "format": st.sampled_from(["json", "x"])}
)
body = st.fixed_dictionaries(
    {},
    optional={
        "path": paths | json_values,
        "args": json_values | st.lists(json_values, max_size=2),
        "format": st.sampled_from(["json", "convex_encoded_json", "xml"]) | json_values,
        "ts": st.sampled_from(["AAAAAAAAAAA=", "////////////", "x"]) | json_values,
        "queries": st.lists(query_item | json_values, max_size=3) | json_values,
    },
)
payload = (
    body.map(lambda b: json.dumps(b).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=40)
)
endpoint = st.sampled_from(
    [
        "/api/query",
        "/api/mutation",
        "/api/action",
        "/api/function",
        "/api/run/counters/value",
        "/api/run/counters/increment",
        "/api/run/nope",
        "/api/run/",
        "/api/query_ts",
        "/api/query_batch",
        "/api/query_at_ts",
    ]
)
auth = st.sampled_from(
    [None, f"Convex {ADMIN_KEY}", "Convex nope", f"Bearer {hs256_token()}", "Bearer a.b.c", "Zz"]
)


def _check_reply(answer: Any) -> None:
    assert answer["status"] in ("success", "error"), answer
    assert isinstance(answer["logLines"], list)
    if answer["status"] == "error":
        assert isinstance(answer["errorMessage"], str)


def _check(response: httpx.Response, endpoint: str) -> None:
    assert response.status_code < 500, response.text
    if response.status_code == 404 or response.status_code == 405:
        return
    answer: Any = response.json()
    if response.status_code != 200:
        assert set(answer) == {"code", "message"}, answer
    elif endpoint == "/api/query_ts":
        assert set(answer) == {"ts"}
    elif endpoint == "/api/query_batch":
        for reply in answer["results"]:
            _check_reply(reply)
    else:
        _check_reply(answer)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(endpoint=endpoint, payload=payload, authorization=auth, get=st.booleans())
def test_random_requests_never_500(
    http: httpx.Client, endpoint: str, payload: bytes, authorization: str | None, get: bool
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    headers["Content-Type"] = "application/json"
    if get:
        params = {
            "path": payload.decode("utf-8", "replace")[:50],
            "args": payload.decode("latin-1"),
        }
        endpoint = "/api/query"
        response = http.get(endpoint, params=params, headers=headers)
    else:
        response = http.post(endpoint, content=payload, headers=headers)
    _check(response, endpoint)
