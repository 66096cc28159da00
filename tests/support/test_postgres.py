"""The throwaway PostgreSQL server used by the Postgres tests really starts and serves."""

from __future__ import annotations

import psycopg

from tests.support.postgres import start_postgres


def test_start_postgres_serves_queries_and_creates_databases() -> None:
    with start_postgres() as server:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)

        url = server.create_database("reactor_support_check")
        assert url.endswith("/reactor_support_check")
        try:
            with psycopg.connect(url) as conn:
                row = conn.execute("select current_database()").fetchone()
                assert row == ("reactor_support_check",)
        finally:
            server.drop_database("reactor_support_check")

    if server.owned:
        raise AssertionError("stop() should have released the server")
