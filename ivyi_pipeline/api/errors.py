"""Every refusal is a JSON body naming the field and what to do; nothing else leaves the API."""

import logging

from pydantic import BaseModel, Field

from ivyi_pipeline.api.config import RETRY_AFTER_SECONDS
from ivyi_pipeline.errors import (
    ConfirmationRefused,
    GiftNotOffered,
    InvalidInput,
    IvyiError,
    NotDue,
    NotFound,
)
from ivyi_pipeline.settings import debug

log = logging.getLogger("ivyi.api")


class ErrorBody(BaseModel):
    """What every refused request gets: a code, the field at fault (if one), what to do."""

    error: str = Field(description="A stable code, e.g. `invalid_input`, `not_found`.")
    field: str | None = Field(
        default=None, description="The field, header or path parameter at fault, if one."
    )
    message: str = Field(description="What is wrong and what to do, in one sentence.")


class ApiError(Exception):
    """A refusal with its HTTP status, code, message and field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}

    def body(self) -> dict:
        """The JSON body."""
        return ErrorBody(error=self.code, field=self.field, message=self.message).model_dump()


def refusal(exc: IvyiError, fields: dict[type, str]) -> ApiError:
    """The API's answer to a refusal of the service layer; `fields` names the field per kind."""

    def field(kind: type) -> str | None:
        return next((name for cls, name in fields.items() if issubclass(kind, cls)), None)

    kinds = (
        (GiftNotOffered, 422, "gift_not_offered"),
        (ConfirmationRefused, 409, "confirmation_refused"),
        (NotFound, 404, "not_found"),
        (NotDue, 409, "not_due"),
        (InvalidInput, 422, "invalid_input"),
    )
    for cls, status, code in kinds:
        if isinstance(exc, cls):
            return ApiError(status, code, str(exc), field(type(exc)))
    return ApiError(409, "refused", str(exc), field(type(exc)))


def unavailable(exc: Exception) -> ApiError:
    """503 with Retry-After for a database fault; the reason, never the URL or a password."""
    from ivyi_pipeline.faults import database_error

    found = database_error(exc)
    reason = found[0] if found else type(exc).__name__
    log.warning("database unavailable: %s", reason)
    return ApiError(
        503,
        "database_unavailable",
        f"the database is unavailable; retry after {RETRY_AFTER_SECONDS} seconds",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unexpected(exc: Exception) -> ApiError:
    """500 for a bug: logged by type (IVYI_DEBUG=1 logs the traceback), never sent."""
    if debug():
        log.exception("unexpected %s", type(exc).__name__)
    else:
        log.error("unexpected %s; set IVYI_DEBUG=1 to log its traceback", type(exc).__name__)
    return ApiError(
        500, "internal_error", "the server failed unexpectedly; this is a bug, please report it"
    )
