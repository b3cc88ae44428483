"""`ivyi serve`: the API on uvicorn, after checking the environment and the schema."""

import logging
import socket
from collections.abc import Callable
from datetime import datetime

from ivyi_pipeline.api.config import ApiConfig
from ivyi_pipeline.clock import utcnow
from ivyi_pipeline.errors import EnvironmentProblem


def check_address(host: str, port: int) -> None:
    """Refuse an address this process cannot listen on, before anything else starts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise EnvironmentProblem(f"--host {host} is not an address of this machine") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port or --host"
            ) from None


def check_schema(database_url: str) -> None:
    """Refuse a database whose schema is not this code's head (`ivyi db upgrade`)."""
    from ivyi_pipeline.db.migrate import check_revision, known_revisions

    head = known_revisions()[1]
    current = check_revision(database_url)
    if current != head:
        raise EnvironmentProblem(
            f"the database is at revision {current or 'none (no schema)'}, this code needs "
            f"{head}; run `ivyi db upgrade` first"
        )


def serve(
    database_url: str,
    host: str,
    port: int,
    now: Callable[[], datetime] | None,
    echo: Callable[[str], None],
) -> None:
    """Check tokens, secrets, address and schema, then serve until SIGINT or SIGTERM."""
    import uvicorn

    from ivyi_pipeline.api.app import create_app

    config = ApiConfig.from_env(database_url, now=now or utcnow)
    check_address(host, port)
    check_schema(database_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    echo(f"ivyi API on http://{host}:{port} (OpenAPI at /openapi.json); Ctrl-C stops it")
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        log_config=None,
        log_level="warning",
    )
