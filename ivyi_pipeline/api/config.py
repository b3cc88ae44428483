"""What `ivyi serve` reads from the environment: tokens, webhook secrets, limits, the clock."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ivyi_pipeline.clock import utcnow
from ivyi_pipeline.errors import EnvironmentProblem
from ivyi_pipeline.settings import (
    API_TOKENS_ENV,
    WEBHOOK_SECRETS_ENV,
    api_tokens,
    webhook_secrets,
)

MIN_SECRET_CHARS = 32
MAX_BODY_BYTES = 16_384
"""Largest request body accepted (16 KiB; the largest valid body is under 300 bytes)."""
SIGNATURE_TOLERANCE_SECONDS = 300
"""How far a carrier webhook's timestamp may be from the server's clock (5 minutes)."""
RETRY_AFTER_SECONDS = 5


def _secrets(variable: str, found: tuple[str, ...], what: str) -> tuple[str, ...]:
    """The secrets `variable` gave; EnvironmentProblem when none or a short one."""
    if not found:
        raise EnvironmentProblem(
            f"{variable} is not set; set it to one or more {what} (comma-separated, each at "
            f"least {MIN_SECRET_CHARS} characters, e.g. from `openssl rand -hex 32`)"
        )
    short = [i for i, secret in enumerate(found, 1) if len(secret) < MIN_SECRET_CHARS]
    if short:
        raise EnvironmentProblem(
            f"{variable}: secret number {short[0]} is shorter than {MIN_SECRET_CHARS} "
            "characters; use a long random value (`openssl rand -hex 32`)"
        )
    return found


@dataclass(frozen=True)
class ApiConfig:
    """The API's settings; `now` is the clock domain decisions use (fixed under --as-of)."""

    database_url: str
    tokens: tuple[str, ...]
    webhook_secrets: tuple[str, ...]
    now: Callable[[], datetime] = utcnow
    lead_days: int | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    signature_tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS

    @classmethod
    def from_env(cls, database_url: str, now: Callable[[], datetime] = utcnow) -> "ApiConfig":
        """Read IVYI_API_TOKENS and IVYI_CARRIER_WEBHOOK_SECRETS; refuse missing or weak ones."""
        return cls(
            database_url=database_url,
            tokens=_secrets(API_TOKENS_ENV, api_tokens(), "bearer tokens"),
            webhook_secrets=_secrets(
                WEBHOOK_SECRETS_ENV, webhook_secrets(), "carrier webhook secrets"
            ),
            now=now,
        )
