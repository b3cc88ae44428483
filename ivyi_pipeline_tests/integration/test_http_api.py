"""`ivyi serve` through its real server on loopback, on SQLite and PostgreSQL: each endpoint's
contract, racing confirmations, idempotency, authentication, signatures and size limits."""

import datetime as dt
import json
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from benchmarks.api_server import ivyi_serve
from benchmarks.webserver import free_port
from ivyi_pipeline.api.config import MAX_BODY_BYTES
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.db.schema import (
    api_idempotency,
    gift_processes,
    inbox_events,
    orders,
    process_transitions,
)
from ivyi_pipeline.domain.states import CREATED_ON_REQUEST
from ivyi_pipeline.features.fulfilment import SimulatedFulfilmentProvider
from ivyi_pipeline.workflows.gifting_process import due, steps
from ivyi_pipeline.workflows.gifting_process.create import process_id_for
from ivyi_pipeline_tests.api_scenes import (
    SERVER_AS_OF,
    SERVER_NOW,
    closed_window,
    open_windows,
    ordered,
)
from ivyi_pipeline_tests.conftest import PG_ADMIN_URL, _pg_url, _truncate_all
from ivyi_pipeline_tests.factories import make_gift, make_occasion, process_status, race

DOMAIN_TABLES = (gift_processes, process_transitions, inbox_events, orders)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(request, tmp_path_factory):
    """A server acting at SERVER_AS_OF on a migrated database holding a small catalogue."""
    folder = tmp_path_factory.mktemp(f"api_{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'ivyi.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("postgres_database")
        _truncate_all(url)
    engine = get_engine(url)
    make_gift(engine, category="books", price_cents=2500)
    make_gift(engine, category="games", price_cents=4000)
    too_dear = make_gift(engine, category="watches", price_cents=90000)
    with ivyi_serve(url, folder / "serve.log", as_of=SERVER_AS_OF) as api:
        yield api, engine, too_dear
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture
def api(served):
    return served[0]


@pytest.fixture
def engine(served):
    return served[1]


@pytest.fixture
def http(api):
    with api.client() as client:
        yield client


def rows(engine: sa.Engine) -> dict[str, list]:
    """Every domain row an API call could write."""
    with engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
            for t in DOMAIN_TABLES
        }


def assert_refused(response: httpx.Response, status: int, error: str, field: str | None):
    """The status, a JSON error naming the field and saying what to do, no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "field", "message"}
    assert (body["error"], body["field"]) == (error, field), body
    assert body["message"]
    assert "Traceback" not in response.text


def confirm(http, api, pid: str, gift: str, key: str | None = None) -> httpx.Response:
    return http.post(
        f"/gifting-processes/{pid}/confirmation", json={"gift_id": gift}, headers=api.headers(key)
    )


# --- health and the OpenAPI document ---


def test_healthz_answers_without_a_token_with_the_current_revision(http):
    response = http.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_openapi_document_describes_every_endpoint_and_the_bearer_scheme(http, api):
    document = http.get("/openapi.json", headers=api.headers()).json()

    assert set(document["paths"]) == {
        "/occasions/{occasion_id}/gifting-process",
        "/gifting-processes/{process_id}/confirmation",
        "/fulfilment-events",
        "/gifting-processes/{process_id}",
        "/healthz",
    }
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert_refused(http.get("/docs"), 404, "no_such_endpoint", None)
    assert_refused(http.delete("/healthz"), 405, "method_not_allowed", None)


# --- start-workflow ---


def test_start_workflow_gives_the_sensors_process_id_and_the_same_process_the_second_time(
    http, api, engine
):
    occasion = make_occasion(engine, date=dt.date(1990, 6, 15))
    expected = process_id_for(occasion, dt.date(2026, 6, 15))

    first = http.post(f"/occasions/{occasion}/gifting-process", headers=api.headers())
    second = http.post(f"/occasions/{occasion}/gifting-process", headers=api.headers())

    assert first.status_code == 201, first.text
    assert first.json() == {
        "process_id": expected,
        "occasion_id": occasion,
        "occurrence_date": "2026-06-15",
        "created": True,
    }
    assert second.status_code == 200
    assert second.json() == {**first.json(), "created": False}
    with engine.connect() as conn:
        (history,) = conn.execute(
            sa.select(process_transitions.c.to_status, process_transitions.c.reason).where(
                process_transitions.c.process_id == expected
            )
        ).all()
    assert tuple(history) == ("CREATED", CREATED_ON_REQUEST.reason)
    assert expected in due.started_on_request(engine)
    shown = http.get(f"/occasions/{occasion}/gifting-process", headers=api.headers())
    assert shown.status_code == 200
    assert (shown.json()["process_id"], shown.json()["status"]) == (expected, "CREATED")


def test_start_workflow_refuses_an_unknown_occasion_and_one_outside_the_lead_window(
    http, api, engine
):
    far = make_occasion(engine, date=dt.date(2026, 9, 1), recurs_yearly=False)
    before = rows(engine)

    unknown = http.post("/occasions/no-such-occasion/gifting-process", headers=api.headers())
    not_due = http.post(f"/occasions/{far}/gifting-process", headers=api.headers())

    assert_refused(unknown, 404, "not_found", "occasion_id")
    assert_refused(not_due, 409, "not_due", "occasion_id")
    assert "lead window" in not_due.json()["message"]
    assert rows(engine) == before


# --- the giver's confirmation ---


def test_a_confirmation_inside_the_window_is_accepted_into_the_inbox(http, api, engine):
    ((pid, ranked),) = open_windows(engine)

    response = confirm(http, api, pid, ranked[1])

    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["process_id"], body["gift_id"], body["received_at"]) == (
        pid,
        ranked[1],
        "2026-06-01T13:00:00Z",
    )
    with engine.connect() as conn:
        (event,) = conn.execute(
            sa.select(inbox_events).where(inbox_events.c.process_id == pid)
        ).all()
    assert (event.id, event.kind, event.gift_id, event.processed_at) == (
        body["inbox_event_id"],
        "CONFIRMATION",
        ranked[1],
        None,
    )
    assert pid in due.pending_confirmations(engine, SERVER_NOW)


def test_a_confirmation_is_refused_as_ivyi_confirm_refuses_it_and_nothing_is_written(
    http, api, engine, served
):
    ((pid, ranked),) = open_windows(engine)
    closed, closed_ranked = closed_window(engine)
    too_dear = served[2]
    before = rows(engine)
    cases = [
        (str(uuid.uuid4()), ranked[0], 404, "not_found", "process_id"),
        ("process-42", ranked[0], 422, "invalid_input", "process_id"),
        (pid, "gift-42", 422, "invalid_input", "gift_id"),
        (pid, too_dear, 422, "gift_not_offered", "gift_id"),
        (pid, str(uuid.uuid4()), 422, "gift_not_offered", "gift_id"),
        (closed, closed_ranked[0], 409, "confirmation_refused", "process_id"),
    ]
    for process_id, gift, status, error, field in cases:
        assert_refused(confirm(http, api, process_id, gift), status, error, field)
    assert "closed at 2026-05-23 12:00Z" in confirm(http, api, closed, closed_ranked[0]).text
    assert rows(engine) == before


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({}, "gift_id", "missing"),
        ({"gift_id": 42}, "gift_id", "string"),
        ({"gift_id": "x", "note": "hi"}, "note", "not a field"),
        ("not json", "body", "JSON object"),
        ([1, 2], "body", "JSON object"),
    ],
)
def test_a_malformed_confirmation_body_names_the_field_and_writes_nothing(
    http, api, engine, body, field, fragment
):
    ((pid, _ranked),) = open_windows(engine)
    before = rows(engine)
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()

    response = http.post(
        f"/gifting-processes/{pid}/confirmation",
        content=content,
        headers={**api.headers(), "Content-Type": "application/json"},
    )

    assert_refused(response, 422, "invalid_input", field)
    assert fragment in response.json()["message"]
    assert rows(engine) == before


def test_fifty_racing_confirmations_of_one_process_have_one_winner_and_the_rest_get_409(
    api, engine
):
    ((pid, ranked),) = open_windows(engine)

    with api.client(limits=httpx.Limits(max_connections=50)) as client:
        responses = race(50, lambda i: confirm(client, api, pid, ranked[i % len(ranked)]))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] + [409] * 49, [r for r in responses if not hasattr(r, "status_code")]
    for response in responses:
        if response.status_code == 409:
            assert_refused(response, 409, "confirmation_refused", "process_id")
            assert "already has a confirmation" in response.json()["message"]
    (winner,) = [r.json() for r in responses if r.status_code == 202]
    with engine.connect() as conn:
        (event,) = conn.execute(
            sa.select(inbox_events).where(inbox_events.c.process_id == pid)
        ).all()
    assert (event.id, event.gift_id) == (winner["inbox_event_id"], winner["gift_id"])


# --- idempotency ---


def test_a_retried_confirmation_replays_the_first_answer_and_writes_nothing_new(http, api, engine):
    ((pid, ranked),) = open_windows(engine)
    key = f"retry-{uuid.uuid4()}"

    first = confirm(http, api, pid, ranked[0], key)
    after_first = rows(engine)
    again = confirm(http, api, pid, ranked[0], key)
    other_body = confirm(http, api, pid, ranked[1], key)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert rows(engine) == after_first
    assert_refused(other_body, 422, "idempotency_key_reused", "Idempotency-Key")
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(api_idempotency.c.status_code).where(api_idempotency.c.key == key)
        ).all()
    assert stored == [(202,)]


def test_racing_retries_with_one_key_all_get_the_first_answer_and_one_write(api, engine):
    ((pid, ranked),) = open_windows(engine)
    key = f"race-{uuid.uuid4()}"

    with api.client(limits=httpx.Limits(max_connections=10)) as client:
        responses = race(10, lambda _i: confirm(client, api, pid, ranked[0], key))

    assert [r.status_code for r in responses] == [202] * 10
    assert len({json.dumps(r.json(), sort_keys=True) for r in responses}) == 1
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(inbox_events.c.process_id == pid)
        ).scalar()
    assert count == 1


def test_a_refusal_is_replayed_too_and_a_new_key_is_judged_afresh(http, api, engine):
    closed, ranked = closed_window(engine)
    key = f"refused-{uuid.uuid4()}"

    first = confirm(http, api, closed, ranked[0], key)
    again = confirm(http, api, closed, ranked[0], key)

    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_every_post_needs_an_idempotency_key(http, api, engine):
    ((pid, ranked),) = open_windows(engine)
    headers = {"Authorization": f"Bearer {api.token}"}

    missing = http.post(
        f"/gifting-processes/{pid}/confirmation", json={"gift_id": ranked[0]}, headers=headers
    )
    bad = http.post(
        f"/gifting-processes/{pid}/confirmation",
        json={"gift_id": ranked[0]},
        headers={**headers, "Idempotency-Key": "no spaces!"},
    )
    start = http.post("/occasions/x/gifting-process", headers=headers)

    assert_refused(missing, 422, "invalid_input", "Idempotency-Key")
    assert_refused(bad, 422, "invalid_input", "Idempotency-Key")
    assert_refused(start, 422, "invalid_input", "Idempotency-Key")


# --- authentication, size limits ---

PROTECTED = [
    ("GET", "/openapi.json"),
    ("POST", "/occasions/x/gifting-process"),
    ("POST", "/gifting-processes/00000000-0000-4000-8000-000000000001/confirmation"),
    ("POST", "/fulfilment-events"),
    ("GET", "/gifting-processes/00000000-0000-4000-8000-000000000002"),
    ("GET", "/occasions/x/gifting-process"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_requests_without_a_known_bearer_token_are_refused(http, api, engine, method, path):
    before = rows(engine)
    body = {"gift_id": str(uuid.uuid4())}
    for authorization in (None, f"Bearer {api.token}x", f"Basic {api.token}", "Bearer"):
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if authorization:
            headers["Authorization"] = authorization
        response = http.request(method, path, json=body, headers=headers)
        assert_refused(response, 401, "unauthenticated", "Authorization")
    assert rows(engine) == before


def test_a_body_that_is_not_json_is_refused_as_invalid_input_naming_the_body(http, api, engine):
    ((pid, _ranked),) = open_windows(engine)
    headers = {**api.headers(), "Content-Type": "application/json"}

    response = http.post(
        f"/gifting-processes/{pid}/confirmation", content=b"\x8c\xdbK", headers=headers
    )

    assert_refused(response, 422, "invalid_input", "body")


def test_a_body_over_the_limit_is_refused_before_it_is_parsed_declared_or_streamed(
    http, api, engine
):
    ((pid, ranked),) = open_windows(engine)
    padded = json.dumps({"gift_id": ranked[0], "pad": "x" * MAX_BODY_BYTES}).encode()
    path = f"/gifting-processes/{pid}/confirmation"
    headers = {**api.headers(), "Content-Type": "application/json"}

    declared = http.post(path, content=padded, headers=headers)
    streamed = http.post(path, content=iter([padded[:1000], padded[1000:]]), headers=headers)

    assert "content-length" not in streamed.request.headers
    for response in (declared, streamed):
        assert_refused(response, 413, "body_too_large", "body")
    assert process_status(engine, pid) == "DECISION_WINDOW_OPEN"
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(inbox_events).where(inbox_events.c.process_id == pid)).all()
            == []
        )


# --- carrier updates ---


def test_a_signed_shipment_update_lands_in_the_inbox_and_the_fulfilment_path_applies_it(
    http, api, engine
):
    pid, order_id = ordered(engine)
    occurred = "2026-06-01T12:45:00Z"
    raw, headers = api.signed({"order_id": order_id, "event": "shipped", "occurred_at": occurred})

    response = http.post("/fulfilment-events", content=raw, headers=headers)
    again, again_headers = api.signed(
        {"order_id": order_id, "event": "shipped", "occurred_at": "2026-06-01T12:50:00Z"}
    )
    duplicate = http.post("/fulfilment-events", content=again, headers=again_headers)

    assert response.status_code == 202, response.text
    assert response.json() == {
        "order_id": order_id,
        "process_id": pid,
        "event": "shipped",
        "occurred_at": occurred,
        "recorded": True,
    }
    assert duplicate.status_code == 202
    assert duplicate.json()["recorded"] is False
    later = SERVER_NOW + dt.timedelta(minutes=5)
    slow_provider = SimulatedFulfilmentProvider(engine, ship_after=dt.timedelta(days=10))
    assert pid in due.fulfilment_due(engine, later, slow_provider)
    assert steps.record_shipment(engine, [pid], later, slow_provider).advanced == [pid]
    with engine.connect() as conn:
        shipped_at = conn.execute(
            sa.select(orders.c.shipped_at).where(orders.c.process_id == pid)
        ).scalar_one()
    assert shipped_at == dt.datetime(2026, 6, 1, 12, 45)


def test_carrier_updates_with_a_stale_or_wrong_signature_are_refused(http, api, engine):
    pid, order_id = ordered(engine)
    body = {"order_id": order_id, "event": "delivered", "occurred_at": "2026-06-01T12:30:00Z"}
    before = rows(engine)
    stale_raw, stale = api.signed(body, at=time.time() - 301)
    unknown_key = "wrong-key-" * 4
    wrong_raw, wrong = api.signed(body, secret=unknown_key)
    good_raw, good = api.signed(body)

    answers = [
        http.post("/fulfilment-events", content=stale_raw, headers=stale),
        http.post("/fulfilment-events", content=wrong_raw, headers=wrong),
        http.post("/fulfilment-events", content=good_raw + b" ", headers=good),
        http.post(
            "/fulfilment-events",
            content=good_raw,
            headers={k: v for k, v in good.items() if k != "Ivyi-Signature"},
        ),
        http.post(
            "/fulfilment-events",
            content=good_raw,
            headers={k: v for k, v in good.items() if k != "Ivyi-Timestamp"},
        ),
    ]

    assert_refused(answers[0], 401, "stale_signature", "Ivyi-Timestamp")
    assert_refused(answers[1], 401, "bad_signature", "Ivyi-Signature")
    assert_refused(answers[2], 401, "bad_signature", "Ivyi-Signature")
    assert_refused(answers[3], 401, "bad_signature", "Ivyi-Signature")
    assert_refused(answers[4], 401, "bad_signature", "Ivyi-Timestamp")
    assert rows(engine) == before


def test_carrier_updates_for_an_unknown_order_or_an_impossible_time_are_refused(http, api, engine):
    _pid, order_id = ordered(engine)
    before = rows(engine)
    cases = [
        (
            {"order_id": "SIM-nope", "event": "shipped", "occurred_at": "2026-06-01T12:30:00Z"},
            404,
            "not_found",
            "order_id",
        ),
        (
            {"order_id": order_id, "event": "shipped", "occurred_at": "2026-05-01T00:00:00Z"},
            422,
            "invalid_input",
            "occurred_at",
        ),
        (
            {"order_id": order_id, "event": "shipped", "occurred_at": "2026-07-01T00:00:00Z"},
            422,
            "invalid_input",
            "occurred_at",
        ),
        (
            {"order_id": order_id, "event": "lost", "occurred_at": "2026-06-01T12:30:00Z"},
            422,
            "invalid_input",
            "event",
        ),
        (
            {"order_id": order_id, "event": "shipped", "occurred_at": "2026-06-01T12:30:00"},
            422,
            "invalid_input",
            "occurred_at",
        ),
    ]
    for body, status, error, field in cases:
        raw, headers = api.signed(body)
        assert_refused(
            http.post("/fulfilment-events", content=raw, headers=headers), status, error, field
        )
    assert rows(engine) == before


# --- reading a process ---


def test_a_process_reads_as_its_status_entry_with_ids_and_dates_only(http, api, engine):
    ((pid, ranked),) = open_windows(engine)

    response = http.get(f"/gifting-processes/{pid}", headers=api.headers())

    assert response.status_code == 200
    body = response.json()
    assert body["process_id"] == pid
    assert body["status"] == "DECISION_WINDOW_OPEN"
    assert body["ranked_gift_ids"] == ranked
    assert (body["occurrence_date"], body["window_closes_at"]) == (
        "2026-06-10",
        "2026-06-04T12:00:00Z",
    )
    assert (body["blocked"], body["failed"]) == (False, False)
    assert not {"blocked_reason", "last_error"} & set(body)
    assert_refused(
        http.get(f"/gifting-processes/{uuid.uuid4()}", headers=api.headers()),
        404,
        "not_found",
        "process_id",
    )
    assert_refused(
        http.get("/gifting-processes/not-a-uuid", headers=api.headers()),
        422,
        "invalid_input",
        "process_id",
    )
    assert_refused(
        http.get("/occasions/nothing-here/gifting-process", headers=api.headers()),
        404,
        "not_found",
        "occasion_id",
    )


def test_the_server_log_names_no_person_and_holds_no_secret(http, api, engine):
    """Factories name people 'Test ...' with emails at example.test; the log has ids only."""
    ((pid, ranked),) = open_windows(engine)
    occasion = make_occasion(engine, date=dt.date(1990, 6, 20))
    assert confirm(http, api, pid, ranked[0]).status_code == 202
    assert confirm(http, api, pid, "not-a-gift").status_code == 422
    assert http.post(f"/occasions/{occasion}/gifting-process", headers=api.headers()).is_success
    assert http.get(f"/gifting-processes/{pid}", headers=api.headers()).status_code == 200
    log = api.log.read_text()

    assert f"POST /gifting-processes/{pid}/confirmation 202" in log
    for secret in (
        "Test User",
        "Test Giver",
        "Test Recipient",
        "example.test",
        api.token,
        api.secret,
        "Traceback",
    ):
        assert secret not in log
    access = [line for line in log.splitlines() if "ivyi.api.access" in line]
    assert access
    assert not [line for line in access if "127.0.0.1" in line]


# --- a database that fails half-way, or goes away ---

FAIL_IDEMPOTENCY_INSERT = """
CREATE FUNCTION fail_api_idempotency() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the database is shutting down' USING ERRCODE = '57P03'; END $$;
CREATE TRIGGER fail_api_idempotency BEFORE INSERT ON api_idempotency
FOR EACH ROW EXECUTE FUNCTION fail_api_idempotency();
"""


@pytest.mark.postgres
def test_a_request_failing_half_way_leaves_nothing_and_a_vanished_database_gives_503(
    tmp_path,
):
    name = f"ivyi_api_down_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    try:
        upgrade(url)
        engine = get_engine(url)
        make_gift(engine, category="books", price_cents=2500)
        ((pid, ranked),) = open_windows(engine)
        with (
            ivyi_serve(url, tmp_path / "serve.log", as_of=SERVER_AS_OF) as api,
            api.client() as http,
        ):
            with engine.begin() as conn:
                conn.execute(sa.text(FAIL_IDEMPOTENCY_INSERT))
            key = f"half-{uuid.uuid4()}"

            failed = confirm(http, api, pid, ranked[0], key)

            assert_refused(failed, 503, "database_unavailable", None)
            assert failed.headers["Retry-After"] == "5"
            assert rows(engine)["inbox_events"] == []
            with engine.begin() as conn:
                conn.execute(sa.text("DROP TRIGGER fail_api_idempotency ON api_idempotency"))
            assert confirm(http, api, pid, ranked[0], key).status_code == 202
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))

            answers = [
                http.get("/healthz"),
                http.get(f"/gifting-processes/{pid}", headers=api.headers()),
                confirm(http, api, pid, ranked[0]),
            ]

            for response in answers:
                assert_refused(response, 503, "database_unavailable", None)
                assert response.headers["Retry-After"] == "5"
                assert name not in response.text
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- starting the server ---


def test_ivyi_serve_refuses_to_start_without_a_schema_or_a_token(tmp_path, monkeypatch, ivyi):
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    monkeypatch.setenv("IVYI_DATABASE_URL", url)
    monkeypatch.setenv("IVYI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("IVYI_API_TOKENS", raising=False)
    monkeypatch.setenv("IVYI_CARRIER_WEBHOOK_SECRETS", "s" * 40)
    port = str(free_port())

    def refused(fragment: str) -> None:
        result = ivyi("serve", "--port", port, timeout=120)
        assert result.returncode == 1, result.stdout + result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: ")
        assert fragment in line

    refused("yet; run `ivyi db upgrade`")  # no database file yet
    upgrade(url)
    refused("IVYI_API_TOKENS is not set")
    get_engine(url).dispose()
