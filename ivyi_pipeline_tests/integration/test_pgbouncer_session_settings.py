"""Does the webserver's session-level statement_timeout leak through pgbouncer's pools?

dagster-webserver sets `SET statement_timeout = <ms>` on every storage connection it opens
(`optimize_for_webserver`, via dagster_postgres.utils.set_pg_statement_timeout). Through
pgbouncer in transaction pooling that SET stays on the server connection, which the next
client (the daemon, a run worker) then gets. These tests show it does leak here (Debian's
pgbouncer, `server_reset_query` unused in transaction mode), and that the production layout
(deploy/README.md: the webserver through a session-mode alias) keeps it on the webserver.
"""

import pytest
import sqlalchemy as sa
from dagster_postgres.utils import set_pg_statement_timeout

from benchmarks import pgbouncer as bouncer
from ivyi_pipeline_tests.conftest import PG_ADMIN_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(bouncer.binary() is None, reason=bouncer.INSTALL_HINT),
]

WEBSERVER_TIMEOUT_MS = 15_000  # dagster-webserver's default --db-statement-timeout
SESSION_ALIAS = "dagster_webserver"


def _psycopg2(url: str):
    import psycopg2

    u = sa.engine.make_url(url)
    return psycopg2.connect(
        host=u.host, port=u.port, user=u.username, dbname=u.database, password=u.password
    )


def _webserver_connects(url: str) -> None:
    """What the webserver does on each new storage connection, then it lets go of it."""
    conn = _psycopg2(url)
    set_pg_statement_timeout(conn, WEBSERVER_TIMEOUT_MS)
    conn.close()


def _timeouts_seen_by_others(url: str, clients: int = 5) -> set[str]:
    """statement_timeout as each of several later clients (daemon, run workers) finds it."""
    seen = set()
    for _ in range(clients):
        conn = _psycopg2(url)
        with conn, conn.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.add(cursor.fetchone()[0])
        conn.close()
    return seen


@pytest.fixture
def pgbouncer_with_a_session_alias(monkeypatch):
    """pgbouncer in transaction mode, plus the webserver's alias in session mode; its port."""
    admin = sa.engine.make_url(PG_ADMIN_URL)
    alias = (
        f"{SESSION_ALIAS} = host={admin.host} port={admin.port} dbname={admin.database} "
        "pool_mode=session\n"
    )
    monkeypatch.setattr(
        bouncer, "CONFIG", bouncer.CONFIG.replace("[databases]\n", "[databases]\n" + alias)
    )
    with bouncer.pgbouncer(PG_ADMIN_URL) as port:
        yield port


def test_a_session_set_leaks_to_other_clients_through_transaction_pooling(
    pgbouncer_with_a_session_alias,
):
    pooled = bouncer.via_pgbouncer(PG_ADMIN_URL, pgbouncer_with_a_session_alias)

    _webserver_connects(pooled)

    assert f"{WEBSERVER_TIMEOUT_MS // 1000}s" in _timeouts_seen_by_others(pooled)


def test_the_webserver_through_the_session_alias_leaks_nothing(pgbouncer_with_a_session_alias):
    port = pgbouncer_with_a_session_alias
    pooled = bouncer.via_pgbouncer(PG_ADMIN_URL, port)
    webserver = sa.engine.make_url(pooled).set(database=SESSION_ALIAS)

    for _ in range(3):
        _webserver_connects(webserver.render_as_string(hide_password=False))

    assert _timeouts_seen_by_others(pooled) == {"0"}
