"""Who may call: bearer tokens (constant time), and carriers' HMAC-signed webhooks."""

import hashlib
import hmac
import time

from ivyi_pipeline.api.errors import ApiError


def token_is_known(presented: str, tokens: tuple[str, ...]) -> bool:
    """True when presented equals one of tokens; every token is compared, in constant time."""
    digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
    found = False
    for token in tokens:
        found |= hmac.compare_digest(digest, hashlib.sha256(token.encode()).digest())
    return found


def check_bearer(authorization: str | None, tokens: tuple[str, ...]) -> None:
    """Refuse (401) a request without `Authorization: Bearer <token>` naming a known token."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(
            401,
            "unauthenticated",
            "send `Authorization: Bearer <token>` with a token from IVYI_API_TOKENS",
            field="Authorization",
        )
    if not token_is_known(presented.strip(), tokens):
        raise ApiError(
            401,
            "unauthenticated",
            "the bearer token is not one this server accepts; ask the operator for a token",
            field="Authorization",
        )


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a carrier sends: over `<timestamp>.` followed by the raw body."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_signature(
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    secrets: tuple[str, ...],
    tolerance_seconds: int,
    now: float | None = None,
) -> None:
    """Refuse (401) a webhook whose Ivyi-Signature does not match any secret or whose
    Ivyi-Timestamp (Unix seconds) is further than tolerance_seconds from now."""
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        raise ApiError(
            401,
            "bad_signature",
            "send Ivyi-Timestamp: the Unix time in seconds when the update was signed",
            field="Ivyi-Timestamp",
        )
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance_seconds:
        raise ApiError(
            401,
            "stale_signature",
            f"Ivyi-Timestamp is more than {tolerance_seconds} s from the server's clock; sign "
            "the update again with the current time (and check the sender's clock)",
            field="Ivyi-Timestamp",
        )
    presented = (signature or "").removeprefix("sha256=").strip().lower().encode("utf-8", "replace")
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(presented, signature_of(secret, timestamp, body).encode())
    if not found:
        raise ApiError(
            401,
            "bad_signature",
            "Ivyi-Signature is not the HMAC-SHA256 of `<Ivyi-Timestamp>.<body>` with a secret "
            "from IVYI_CARRIER_WEBHOOK_SECRETS; sign the exact bytes sent",
            field="Ivyi-Signature",
        )
