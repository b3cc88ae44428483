"""The platform's HTTP API: start-workflow, the giver's confirmation, carrier updates, status.

Every endpoint is a thin layer over the service functions `ivyi` commands use
(workflows/gifting_process/start.py, confirm.py, status.py, features/fulfilment.py).
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ivyi_pipeline.api import auth
from ivyi_pipeline.api.config import RETRY_AFTER_SECONDS, ApiConfig
from ivyi_pipeline.api.errors import ApiError, ErrorBody
from ivyi_pipeline.api.idempotency import KEY_PATTERN, Answer, fingerprint, run_once
from ivyi_pipeline.api.limits import AccessLog, BodyLimit
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.errors import ConfirmationRefused, GiftNotOffered, InvalidInput, NotDue, NotFound
from ivyi_pipeline.features.fulfilment import record_carrier_update
from ivyi_pipeline.workflows.gifting_process.confirm import parse_uuid, record_confirmation_in
from ivyi_pipeline.workflows.gifting_process.detection import DEFAULT_LEAD_DAYS
from ivyi_pipeline.workflows.gifting_process.start import MAX_OCCASION_ID, start_for_occasion
from ivyi_pipeline.workflows.gifting_process.status import process_statuses

UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
MAX_CLOCK_SKEW = timedelta(minutes=5)


class Strict(BaseModel):
    """Request bodies: unknown fields are refused, naming the field."""

    model_config = ConfigDict(extra="forbid")


class Confirmation(Strict):
    """The giver's choice among the process's ranked options."""

    gift_id: str = Field(description="A gift id among the process's ranked options (a UUID).")


class FulfilmentEvent(Strict):
    """A carrier's update of an order we placed."""

    order_id: str = Field(
        min_length=1, max_length=100, description="The provider order id we placed."
    )
    event: Literal["shipped", "delivered"]
    occurred_at: datetime = Field(description="When it happened (ISO-8601 with a time zone).")


class Process(BaseModel):
    """Where a gift process stands (the `ivyi status --json` entry: ids, dates, status)."""

    process_id: str
    partition_key: str
    occasion_id: str
    occurrence_date: str
    status: str
    selected_gift_id: str | None
    ranked_gift_ids: list[str]
    window_closes_at: str | None
    blocked: bool = Field(description="True while the process waits on a blocked reason.")
    failed: bool = Field(description="True while its last run's error is unresolved.")


class Started(BaseModel):
    """The process started for an occasion's next occurrence."""

    process_id: str
    occasion_id: str
    occurrence_date: str
    created: bool = Field(description="False when the process existed already.")


class Accepted(BaseModel):
    """A confirmation in the process's inbox; the confirmation sensor applies it."""

    process_id: str
    gift_id: str
    inbox_event_id: int
    received_at: str


class FulfilmentAccepted(BaseModel):
    """A carrier's update in the order's inbox; the fulfilment sensor applies it."""

    order_id: str
    process_id: str
    event: str
    occurred_at: str
    recorded: bool = Field(description="False when this kind of update was already recorded.")


class Health(BaseModel):
    """The database is reachable and its schema is this code's."""

    status: Literal["ok"]
    revision: str


def _refusals(*codes: int) -> dict:
    return {code: {"model": ErrorBody} for code in (401, 422, 503, *codes)}


def _public(entry: dict) -> dict:
    """A status entry with ids, dates and the status; the free-text reasons become flags."""
    found = {k: v for k, v in entry.items() if k not in ("blocked_reason", "last_error")}
    return {**found, "blocked": bool(entry["blocked_reason"]), "failed": bool(entry["last_error"])}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_app(config: ApiConfig) -> FastAPI:
    """The application for `config`; the engine is created on the first request."""
    app = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        title="ivyi_pipeline platform API",
        version="1",
        description=(
            "Start gifting processes, record givers' confirmations and carriers' updates, read "
            "where a process stands. Every endpoint but /healthz needs `Authorization: Bearer "
            "<token>`; every POST needs an Idempotency-Key; bodies over "
            f"{config.max_body_bytes} bytes are refused with 413 before they are parsed."
        ),
    )
    app.state.config = config
    app.include_router(router)

    @app.get("/openapi.json", include_in_schema=False, **secured)
    def openapi_document():
        return app.openapi()

    _install_handlers(app)
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    app.add_middleware(AccessLog)
    return app


def _config(request: Request) -> ApiConfig:
    return request.app.state.config


Config = Annotated[ApiConfig, Depends(_config)]
bearer = HTTPBearer(auto_error=False, description="A token from IVYI_API_TOKENS.")


def _authenticated(
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    request: Request,
    config: Config,
) -> None:
    auth.check_bearer(request.headers.get("authorization"), config.tokens)


router = APIRouter()
secured = {"dependencies": [Depends(_authenticated)]}
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description="A key unique to this request; a retry with it replays the first answer.",
    ),
]
ProcessId = Annotated[str, Path(pattern=UUID_PATTERN, description="A process id (UUID).")]
OccasionId = Annotated[str, Path(min_length=1, max_length=MAX_OCCASION_ID)]


def _answer(result: Answer) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(result.body, status_code=result.status, headers=headers)


def _once(config: ApiConfig, request: Request, key: str, act, fields) -> JSONResponse:
    digest = fingerprint(request.method, request.url.path, request.scope.get("ivyi.body", b""))
    return _answer(run_once(get_engine(config.database_url), key, digest, act, fields))


@router.post(
    "/occasions/{occasion_id}/gifting-process",
    response_model=Started,
    status_code=201,
    responses={200: {"model": Started}, **_refusals(404, 409)},
    summary="start-workflow for an occasion's next occurrence (the sensor's process id)",
    **secured,
)
def start(occasion_id: OccasionId, request: Request, key: IdempotencyKey, config: Config):
    """201 with the new process, 200 with the existing one; 409 outside the lead window."""

    def act(conn: sa.Connection) -> Answer:
        lead_days = config.lead_days or DEFAULT_LEAD_DAYS
        started = start_for_occasion(conn, occasion_id, config.now(), lead_days)
        return Answer(201 if started.created else 200, Started(**vars(started)).model_dump())

    fields = {NotFound: "occasion_id", NotDue: "occasion_id", InvalidInput: "occasion_id"}
    return _once(config, request, key, act, fields)


@router.post(
    "/gifting-processes/{process_id}/confirmation",
    response_model=Accepted,
    status_code=202,
    responses=_refusals(404, 409),
    summary="the giver's choice of gift, validated as `ivyi confirm` validates it",
    **secured,
)
def confirm(
    process_id: ProcessId,
    confirmation: Confirmation,
    request: Request,
    key: IdempotencyKey,
    config: Config,
):
    """202 once in the inbox; 409 outside the window or after another confirmation won."""
    pid = _checked_uuid(process_id, "process id", "process_id")
    gift_id = _checked_uuid(confirmation.gift_id, "gift id", "gift_id")

    def act(conn: sa.Connection) -> Answer:
        at = config.now()
        event_id = record_confirmation_in(conn, pid, gift_id, at)
        body = Accepted(
            process_id=pid, gift_id=gift_id, inbox_event_id=event_id, received_at=_iso(at)
        )
        return Answer(202, body.model_dump())

    fields = {NotFound: "process_id", GiftNotOffered: "gift_id", ConfirmationRefused: "process_id"}
    return _once(config, request, key, act, fields)


SIGNED_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": FulfilmentEvent.model_json_schema()}},
    }
}


@router.post(
    "/fulfilment-events",
    response_model=FulfilmentAccepted,
    status_code=202,
    responses=_refusals(404),
    summary="a carrier's shipped/delivered update of an order, HMAC-signed",
    openapi_extra=SIGNED_BODY,
    **secured,
)
def fulfilment_event(
    request: Request,
    key: IdempotencyKey,
    config: Config,
    timestamp: Annotated[
        str | None, Header(alias="Ivyi-Timestamp", description="Unix seconds when it was signed.")
    ] = None,
    signature: Annotated[
        str | None,
        Header(
            alias="Ivyi-Signature",
            description="sha256=<hex HMAC-SHA256 of `<Ivyi-Timestamp>.<raw body>`>.",
        ),
    ] = None,
):
    """202 once in the order's inbox; the signature is checked before the body is parsed."""
    raw = request.scope.get("ivyi.body", b"")
    auth.check_signature(
        signature, timestamp, raw, config.webhook_secrets, config.signature_tolerance_seconds
    )
    update = _parsed_event(raw)

    def act(conn: sa.Connection) -> Answer:
        now = config.now()
        if update.occurred_at > now + MAX_CLOCK_SKEW:
            raise InvalidInput(
                f"occurred_at {_iso(update.occurred_at)} is in the future; send when it happened"
            )
        when = min(update.occurred_at.astimezone(UTC), now)
        done = record_carrier_update(conn, update.order_id, update.event, when)
        body = FulfilmentAccepted(
            order_id=done.provider_order_id,
            process_id=done.process_id,
            event=update.event,
            occurred_at=_iso(when),
            recorded=done.recorded,
        )
        return Answer(202, body.model_dump())

    return _once(config, request, key, act, {NotFound: "order_id", InvalidInput: "occurred_at"})


def _parsed_event(raw: bytes) -> FulfilmentEvent:
    try:
        update = FulfilmentEvent.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc.errors(include_url=False)) from None
    if update.occurred_at.tzinfo is None:
        raise ApiError(
            422, "invalid_input", "occurred_at needs a time zone (e.g. Z)", "occurred_at"
        )
    return update


@router.get(
    "/gifting-processes/{process_id}",
    response_model=Process,
    responses=_refusals(404),
    summary="where a process stands (its `ivyi status --json` entry)",
    **secured,
)
def process(process_id: ProcessId, config: Config):
    """The process's ids, dates and status."""
    pid = _checked_uuid(process_id, "process id", "process_id")
    found = process_statuses(get_engine(config.database_url), process_id=pid)
    if not found:
        raise ApiError(404, "not_found", f"gift process {pid} does not exist", "process_id")
    return _public(found[0])


@router.get(
    "/occasions/{occasion_id}/gifting-process",
    response_model=Process,
    responses=_refusals(404),
    summary="the process of the occasion's latest occurrence",
    **secured,
)
def occasion_process(occasion_id: OccasionId, config: Config):
    """The occasion's process with the latest occurrence date."""
    found = process_statuses(get_engine(config.database_url), occasion_id=occasion_id)
    if not found:
        raise ApiError(
            404,
            "not_found",
            f"occasion {occasion_id} has no gift process; start one with POST "
            "/occasions/{occasion_id}/gifting-process",
            "occasion_id",
        )
    return _public(found[-1])


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": ErrorBody}},
    summary="the database is reachable and its schema current (no token needed)",
)
def healthz(config: Config):
    """200 when the database answers and is at this code's revision, else 503."""
    from ivyi_pipeline.db.migrate import check_revision, known_revisions

    head = known_revisions()[1]
    current = check_revision(config.database_url)
    if current != head:
        raise ApiError(
            503,
            "schema_not_current",
            f"the database is at revision {current}, this code needs {head}; the operator "
            "runs `ivyi db upgrade`",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return {"status": "ok", "revision": head}


def _checked_uuid(text: str, what: str, field: str) -> str:
    try:
        return parse_uuid(text, what)
    except InvalidInput as exc:
        raise ApiError(422, "invalid_input", f"{exc}; send the id as a UUID", field) from None


def _field(loc: tuple) -> str:
    if loc[:1] and loc[0] in ("body", "header", "path", "query", "cookie"):
        loc = loc[1:]
    return ".".join(str(part) for part in loc) or "body"


def _invalid(errors: list[dict]) -> ApiError:
    first = errors[0]
    field = _field(tuple(first.get("loc", ())))
    kind = first.get("type", "")
    if kind == "json_invalid":
        message = "the body is not valid JSON; send a JSON object as /openapi.json describes"
        field = "body"
    elif field == "body":
        message = (
            "the body must be a JSON object sent with Content-Type: application/json, "
            "as /openapi.json describes"
        )
    elif kind == "missing":
        message = f"{field} is missing; send it as /openapi.json describes"
    elif kind == "extra_forbidden":
        message = f"{field} is not a field of this request; leave it out"
    else:
        message = f"{field}: {first.get('msg', 'invalid')}; send it as /openapi.json describes"
    return ApiError(422, "invalid_input", message, field)


def _install_handlers(app: FastAPI) -> None:
    def respond(error: ApiError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(ApiError)
    async def api_error(_request, exc: ApiError):
        return respond(exc)

    @app.exception_handler(StarletteHTTPException)
    async def routing(_request, exc: StarletteHTTPException):
        if exc.status_code == 400:
            # A body FastAPI cannot parse (not JSON, not UTF-8): invalid input like any other,
            # with the status every POST documents.
            message = "body: not a JSON document; send it as /openapi.json describes"
            return respond(ApiError(422, "invalid_input", message, "body"))
        messages = {
            404: ("no_such_endpoint", "no endpoint has this path; see /openapi.json"),
            405: ("method_not_allowed", "this endpoint does not take this method"),
        }
        code, message = messages.get(exc.status_code, ("http_error", str(exc.detail)))
        return respond(ApiError(exc.status_code, code, message, headers=exc.headers))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request, exc: RequestValidationError):
        return respond(_invalid(list(exc.errors())))
