"""`ivyi serve` on a free loopback port, as an operator starts it: the HTTP API tests
(integration/test_http_api*.py) and benchmarks/http_api.py use it the same way."""

import hmac
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.webserver import HOST, free_port, stop_process_group

IVYI = Path(sys.executable).with_name("ivyi")


@dataclass(frozen=True)
class Api:
    """A running server: its base URL, a valid token and carrier secret, its log file."""

    base: str
    token: str
    secret: str
    log: Path

    def headers(self, key: str | None = None, token: str | None = None) -> dict[str, str]:
        """Authorization (the valid token unless given) and an Idempotency-Key (fresh if None)."""
        return {
            "Authorization": f"Bearer {token or self.token}",
            "Idempotency-Key": key or str(uuid.uuid4()),
        }

    def signed(self, body: dict, at: float | None = None, secret: str | None = None) -> tuple:
        """(raw body, headers) of a carrier webhook signed at `at` (now by default)."""
        raw = json.dumps(body).encode()
        stamp = str(int(time.time() if at is None else at))
        mac = hmac.new((secret or self.secret).encode(), stamp.encode() + b"." + raw, "sha256")
        headers = {
            **self.headers(),
            "Content-Type": "application/json",
            "Ivyi-Timestamp": stamp,
            "Ivyi-Signature": "sha256=" + mac.hexdigest(),
        }
        return raw, headers

    def client(self, **options) -> httpx.Client:
        """An HTTP client on the server."""
        return httpx.Client(base_url=self.base, timeout=60, **options)


@contextmanager
def ivyi_serve(
    database_url: str, log: Path, as_of: str | None = None, env: dict[str, str] | None = None
) -> Iterator[Api]:
    """Start `ivyi serve` on database_url (migrated), with fresh tokens and a webhook secret;
    yield once /healthz answers 200; stop it (SIGTERM, then SIGKILL) afterwards."""
    token, other, secret = (secrets.token_hex(24) for _ in range(3))
    port = free_port()
    environment = {
        **os.environ,
        "IVYI_HOME": str(log.parent / "ivyi_home"),
        **(env or {}),
        "IVYI_DATABASE_URL": database_url,
        "IVYI_API_TOKENS": f"{other},{token}",
        "IVYI_CARRIER_WEBHOOK_SECRETS": secret,
    }
    command = [str(IVYI), "serve", "--port", str(port)]
    command += ["--as-of", as_of] if as_of else []
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    api = Api(f"http://{HOST}:{port}", token, secret, log)
    try:
        _wait_until_healthy(api, server)
        yield api
    finally:
        stop_process_group(server, grace=20)


def _wait_until_healthy(api: Api, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"ivyi serve exited with {server.returncode}: {api.log.read_text()}")
        try:
            if httpx.get(f"{api.base}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"ivyi serve did not answer /healthz in {seconds:.0f} s; see {api.log}")
