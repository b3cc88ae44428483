"""Idempotency-Key: the first answer to a POST is stored with its write, in one transaction.

A retry with the same key and the same request gets the stored answer and writes nothing; the
same key with another request is refused (422). Refusals of the service layer (404, 409, 422
from the domain) are stored too, so a retry sees the same answer; a request that failed on
the way (a database fault, a bug) stored nothing and wrote nothing, so a retry runs it anew.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from ivyi_pipeline.api.errors import ApiError, refusal
from ivyi_pipeline.clock import to_db, utcnow
from ivyi_pipeline.db.schema import api_idempotency
from ivyi_pipeline.errors import IvyiError

KEY_PATTERN = r"^[A-Za-z0-9._:\-]{8,200}$"
"""What an Idempotency-Key may be: 8 to 200 letters, digits and `._:-` (a UUID fits)."""


@dataclass(frozen=True)
class Answer:
    """A status and a JSON body; `replayed` when it is a stored first answer."""

    status: int
    body: dict
    replayed: bool = False


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request: method, path and the exact body."""
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def _stored(conn: sa.Connection, key: str, request_hash: str) -> Answer | None:
    row = conn.execute(
        sa.select(
            api_idempotency.c.request_hash,
            api_idempotency.c.status_code,
            api_idempotency.c.response_body,
        ).where(api_idempotency.c.key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; send a new key for a new "
            "request, or the first request's exact method, path and body to retry it",
            field="Idempotency-Key",
        )
    return Answer(row.status_code, json.loads(row.response_body), replayed=True)


def run_once(
    engine: sa.Engine,
    key: str,
    request_hash: str,
    action: Callable[[sa.Connection], Answer],
    fields: dict[type, str],
) -> Answer:
    """The stored answer for key, or action's answer stored with action's writes.

    `fields` names the field of each kind of refusal (see errors.refusal).
    """
    try:
        with engine.begin() as conn:
            stored = _stored(conn, key, request_hash)
            if stored is not None:
                return stored
            try:
                with conn.begin_nested():
                    answer = action(conn)
            except IvyiError as exc:
                error = refusal(exc, fields)
                answer = Answer(error.status, error.body())
            conn.execute(
                api_idempotency.insert().values(
                    key=key,
                    request_hash=request_hash,
                    status_code=answer.status,
                    response_body=json.dumps(answer.body),
                    created_at=to_db(utcnow()),
                )
            )
            return answer
    except sa.exc.IntegrityError:
        # A request with the same key committed first (both waited on the same row or lock).
        with engine.connect() as conn:
            stored = _stored(conn, key, request_hash)
        if stored is None:
            raise
        return stored
