"""The functions the browser console adds: development sign-in, demo data, read models."""

from __future__ import annotations

import pytest

from reactor import Engine, UserError
from reactor.auth import AuthConfig, Authenticator

from .helpers import SUPERVISOR, agent

SECRET = "console-support-test-secret"


@pytest.fixture
def dev_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACTOR_DEV_SIGN_IN", "1")
    monkeypatch.setenv("REACTOR_AUTH_SECRET", SECRET)
    monkeypatch.delenv("REACTOR_AUTH_ISSUER", raising=False)
    monkeypatch.delenv("REACTOR_AUTH_AUDIENCE", raising=False)


async def test_dev_sign_in_is_off_unless_enabled(
    cc: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REACTOR_AUTH_SECRET", SECRET)
    monkeypatch.delenv("REACTOR_DEV_SIGN_IN", raising=False)
    assert await cc.action("auth:providers", {}) == {"dev": False}
    with pytest.raises(UserError) as err:
        await cc.action("auth:dev_sign_in", {"agent_id": "agent-1"})
    assert err.value.data["code"] == "dev_sign_in_disabled"
    # Enabled but without a secret to sign with: still off.
    monkeypatch.setenv("REACTOR_DEV_SIGN_IN", "1")
    monkeypatch.delenv("REACTOR_AUTH_SECRET")
    assert await cc.action("auth:providers", {}) == {"dev": False}


async def test_dev_sign_in_mints_a_token_the_server_verifies(cc: Engine, dev_sign_in: None) -> None:
    assert await cc.action("auth:providers", {}) == {"dev": True}
    result = await cc.action(
        "auth:dev_sign_in", {"agent_id": " Sup-1 ", "name": "Sam Rivera", "role": "supervisor"}
    )
    assert result["identity"] == {"agent_id": "sup-1", "name": "Sam Rivera", "role": "supervisor"}
    assert SECRET not in str(result)
    claims = await Authenticator(AuthConfig(secret=SECRET)).verify(result["token"])
    assert claims["subject"] == "sup-1"
    assert claims["role"] == "supervisor"
    assert claims["name"] == "Sam Rivera"
    # A token signed with another secret is not accepted.
    with pytest.raises(Exception, match="signature"):
        await Authenticator(AuthConfig(secret="another")).verify(result["token"])


async def test_dev_sign_in_refuses_bad_ids(cc: Engine, dev_sign_in: None) -> None:
    for bad in ("", "has space", "x" * 41, "../etc", "a.b", "émile"):
        with pytest.raises(UserError) as err:
            await cc.action("auth:dev_sign_in", {"agent_id": bad})
        assert err.value.data["code"] == "invalid_agent_id", bad


async def test_demo_seed_once_with_history(cc: Engine) -> None:
    assert await cc.query("demo:status", {}) == {"seeded": False}
    assert await cc.mutation("demo:seed", {}) == {"seeded": True}
    assert await cc.mutation("demo:seed", {}) == {"seeded": False}
    assert await cc.query("demo:status", {}) == {"seeded": True}
    queues = await cc.query("queues:list", {}, identity=agent(1))
    assert sorted(q["name"] for q in queues) == ["billing", "general", "support"]
    canned = await cc.query("canned:list", {}, identity=agent(1))
    assert len(canned) == 5
    inbox = await cc.query("sms/threads:inbox", {}, identity=agent(1))
    assert len(inbox) == 3
    vms = await cc.query("voicemails:list", {}, identity=agent(1))
    assert len(vms) == 2
    today = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    days = await cc.query(
        "dashboard:history", {"from_day": "2026-11-01", "to_day": today["day"]}, identity=SUPERVISOR
    )
    assert len(days) == 14
    assert all(0 < d["service_level"] <= 100 and d["answered"] > 0 for d in days)
    people = await cc.query("console:directory", {}, identity=agent(9))
    assert sorted((p["agent_id"], p["name"], p["status"]) for p in people) == [
        ("agent-1", "Ava Thompson", "offline"),
        ("agent-2", "Ben Carter", "offline"),
        ("agent-3", "Chloe Nguyen", "offline"),
        ("sup-1", "Sam Rivera", "offline"),
    ]
    # Signing in keeps the demo skills.
    await cc.mutation("agents:sign_in", {"name": "Ava"}, identity=agent(1))
    me = await cc.query("agents:me_status", {}, identity=agent(1))
    assert me["skills"] == {"general": 4, "billing": 3}


async def test_demo_traffic_needs_demo_mode(cc: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REACTOR_DEMO", raising=False)
    with pytest.raises(UserError) as err:
        await cc.action("demo:ring", {}, identity=agent(1))
    assert err.value.data["code"] == "demo_disabled"
    monkeypatch.setenv("REACTOR_DEMO", "1")
    await cc.mutation("demo:seed", {})
    with pytest.raises(UserError) as err:
        await cc.action("demo:ring", {})
    assert err.value.data["code"] == "unauthenticated"
    decision = await cc.action("demo:ring", {"phone": "+14155550102"}, identity=agent(1))
    assert decision["action"] == "enqueue"
    queue = await cc.query("dashboard:queue", {}, identity=SUPERVISOR)
    assert queue["waiting"] == 1


async def test_directory_and_handled_calls(cc: Engine) -> None:
    with pytest.raises(UserError):
        await cc.query("console:directory", {})
    await cc.mutation("agents:sign_in", {"name": "Ava Thompson"}, identity=agent(1))
    people = await cc.query("console:directory", {}, identity=agent(2))
    assert [(p["agent_id"], p["name"], p["status"]) for p in people] == [
        ("agent-1", "Ava Thompson", "available")
    ]
    decision = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+14155550100", "to_number": "+15550001000"},
    )
    assert decision["agent_id"] == "agent-1"
    with pytest.raises(UserError) as err:
        await cc.query("console:handled_calls", {}, identity=agent(1))
    assert err.value.data["code"] == "forbidden"
    assert await cc.query("console:handled_calls", {}, identity=SUPERVISOR) == []
    await cc.mutation("calls:answer", {"call_id": decision["call_id"]}, identity=agent(1))
    handled = await cc.query("console:handled_calls", {}, identity=SUPERVISOR)
    assert [(c["call_id"], c["agent_id"]) for c in handled] == [(decision["call_id"], "agent-1")]
