"""The four sensors, evaluated with a fixed clock against the test database on both backends."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.clock import to_db
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.definitions import defs
from ivyi_pipeline.features.fulfilment import SimulatedFulfilmentProvider
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.partitions import (
    ensure_process_partitions,
    process_id_of,
    process_ids_of,
)
from ivyi_pipeline.orchestration.resources import Clock, IvyiDatabase
from ivyi_pipeline.workflows.gifting_process.create import process_id_for
from ivyi_pipeline_tests.factories import make_confirmation, make_gift, make_occasion, make_process

AS_OF = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
TODAY = AS_OF.date()


def _evaluate(instance, url: str, name: str, as_of: dt.datetime, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources={
            **defs.resources,
            "ivyi_db": IvyiDatabase(url=url),
            "clock": Clock(as_of=as_of.isoformat()),
        },
    )
    return defs.resolve_sensor_def(name)(context)


@pytest.fixture
def evaluate(instance, database_url):
    """Evaluate a sensor of `defs` by name as of an instant; return its result."""

    def run(name: str, as_of: dt.datetime = AS_OF, cursor: str | None = None):
        return _evaluate(instance, database_url, name, as_of, cursor)

    return run


def _one_off(engine, day: dt.date) -> str:
    return make_occasion(engine, date=day, recurs_yearly=False)


def _requested(result) -> dict[str, dg.RunRequest]:
    if isinstance(result, dg.SensorResult):
        requests = result.run_requests or []
    elif isinstance(result, list):
        requests = result
    else:
        requests = []
    # By process id: the request's partition key, or its process id tag for a ranged run.
    return {
        process_id_of(request.partition_key)
        if request.partition_key
        else request.tags.get(tags.PROCESS_ID): request
        for request in requests
    }


def _added_partitions(result: dg.SensorResult) -> list[str]:
    """The process ids whose partition keys the sensor asked to add, in its order."""
    return [
        process_id_of(key)
        for request in result.dynamic_partitions_requests or []
        if isinstance(request, dg.AddDynamicPartitionsRequest)
        for key in request.partition_keys
    ]


def _status_of(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(gift_processes.c.id, gift_processes.c.status)).all())


def test_detection_creates_processes_for_occurrences_in_the_lead_window_edges_included(
    engine, evaluate
):
    inside = {day: _one_off(engine, day) for day in (TODAY, TODAY + dt.timedelta(days=21))}
    for day in (TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=22)):
        _one_off(engine, day)

    result = evaluate("occasion_detection_sensor")

    expected = {process_id_for(occ, day) for day, occ in inside.items()}
    assert set(_requested(result)) == expected
    assert set(_added_partitions(result)) == expected
    assert _status_of(engine) == dict.fromkeys(expected, "CREATED")


def test_detection_run_keys_and_tags_are_deterministic(engine, evaluate):
    day = TODAY + dt.timedelta(days=10)
    occasion_id = _one_off(engine, day)

    (request,) = _requested(evaluate("occasion_detection_sensor")).values()

    process_id = process_id_for(occasion_id, day)
    key = f"{day.isoformat()}.{occasion_id}"
    assert request.partition_key == key
    assert request.run_key == f"start-workflow:{key}:CREATED"
    assert request.tags[tags.PROCESS_ID] == process_id
    assert request.tags[tags.OCCASION_ID] == occasion_id
    assert request.tags[tags.EVENT] == "start-workflow"
    assert request.tags[tags.AS_OF] == AS_OF.isoformat()


def test_a_second_evaluation_with_the_returned_cursor_requests_nothing_new(engine, evaluate):
    _one_off(engine, TODAY + dt.timedelta(days=5))
    first = evaluate("occasion_detection_sensor")

    second = evaluate("occasion_detection_sensor", cursor=first.cursor)

    assert len(_requested(first)) == 1
    assert _requested(second) == {}
    assert _added_partitions(second) == []
    assert second.cursor


def test_a_yearly_occasion_gets_a_process_for_this_years_occurrence(engine, evaluate):
    occasion_id = make_occasion(engine, date=dt.date(1990, 6, 15), recurs_yearly=True)

    result = evaluate("occasion_detection_sensor")

    assert set(_requested(result)) == {process_id_for(occasion_id, dt.date(2026, 6, 15))}


@pytest.mark.parametrize(
    ("as_of", "original", "expected"),
    [
        (dt.datetime(2026, 12, 20, tzinfo=dt.UTC), dt.date(1990, 1, 5), dt.date(2027, 1, 5)),
        (dt.datetime(2027, 2, 10, tzinfo=dt.UTC), dt.date(2000, 2, 29), dt.date(2027, 2, 28)),
    ],
)
def test_yearly_occurrences_are_found_across_a_year_end_and_on_28_february(
    engine, evaluate, as_of, original, expected
):
    occasion_id = make_occasion(engine, date=original, recurs_yearly=True)

    result = evaluate("occasion_detection_sensor", as_of=as_of)

    assert set(_requested(result)) == {process_id_for(occasion_id, expected)}


def test_an_occasion_inserted_after_a_tick_is_picked_up_by_the_next_tick(engine, evaluate):
    _one_off(engine, TODAY + dt.timedelta(days=3))
    first = evaluate("occasion_detection_sensor")
    late_day = TODAY + dt.timedelta(days=4)
    late = _one_off(engine, late_day)

    second = evaluate("occasion_detection_sensor", cursor=first.cursor)

    assert set(_requested(second)) == {process_id_for(late, late_day)}
    assert _added_partitions(second) == [process_id_for(late, late_day)]


def test_a_date_entering_the_lead_window_on_a_later_day_is_picked_up(engine, evaluate):
    later_day = TODAY + dt.timedelta(days=23)
    occasion_id = _one_off(engine, later_day)
    first = evaluate("occasion_detection_sensor")

    second = evaluate(
        "occasion_detection_sensor", as_of=AS_OF + dt.timedelta(days=2), cursor=first.cursor
    )

    assert _requested(first) == {}
    assert set(_requested(second)) == {process_id_for(occasion_id, later_day)}


def _open_window(engine, closes_at: dt.datetime) -> str:
    process_id = make_process(engine, status="DECISION_WINDOW_OPEN")
    with engine.begin() as conn:
        conn.execute(
            gift_processes.update()
            .where(gift_processes.c.id == process_id)
            .values(window_closes_at=to_db(closes_at))
        )
    return process_id


def test_the_decision_window_sensor_requests_a_run_for_an_expired_window_only(engine, evaluate):
    expired = _open_window(engine, AS_OF - dt.timedelta(minutes=1))
    _open_window(engine, AS_OF + dt.timedelta(hours=1))

    requested = _requested(evaluate("decision_window_sensor"))

    assert set(requested) == {expired}
    assert requested[expired].tags[tags.EVENT] == "decision-window-open"
    key = requested[expired].partition_key
    assert process_ids_of([key]) == [expired]
    assert requested[expired].run_key == f"decision-window-open:{key}:DECISION_WINDOW_OPEN"


def test_the_decision_window_sensor_skips_when_no_window_expired(engine, evaluate):
    _open_window(engine, AS_OF + dt.timedelta(hours=1))

    assert isinstance(evaluate("decision_window_sensor"), dg.SkipReason)


def _confirmation(engine, process_id: str, processed: bool) -> None:
    at = to_db(AS_OF)
    make_confirmation(engine, process_id, make_gift(engine), at, at if processed else None)


def test_the_confirmation_sensor_requests_a_run_for_a_pending_confirmation(engine, evaluate):
    pending = _open_window(engine, AS_OF + dt.timedelta(hours=1))
    _confirmation(engine, pending, processed=False)
    _confirmation(engine, _open_window(engine, AS_OF + dt.timedelta(hours=1)), processed=True)

    requested = _requested(evaluate("confirmation_sensor"))

    assert set(requested) == {pending}
    assert requested[pending].tags[tags.EVENT] == "option-confirmed"


def _ordered(engine, placed_at: dt.datetime) -> str:
    process_id = make_process(engine, status="ORDERED")
    SimulatedFulfilmentProvider(engine).place_order(process_id, make_gift(engine), placed_at)
    return process_id


def test_the_fulfilment_sensor_requests_a_run_for_an_order_the_provider_shipped(engine, evaluate):
    shipped = _ordered(engine, AS_OF - dt.timedelta(hours=25))
    _ordered(engine, AS_OF - dt.timedelta(hours=1))

    requested = _requested(evaluate("fulfilment_sensor"))

    assert set(requested) == {shipped}
    assert requested[shipped].tags[tags.EVENT] == "fulfilment-updated"
    key = requested[shipped].partition_key
    assert process_ids_of([key]) == [shipped]
    assert requested[shipped].run_key == f"fulfilment-updated:{key}:ORDERED"


def test_the_event_sensors_skip_when_nothing_is_due(evaluate):
    for name in ("decision_window_sensor", "confirmation_sensor", "fulfilment_sensor"):
        assert isinstance(evaluate(name), dg.SkipReason), name


def test_many_new_occurrences_are_run_as_one_range_in_the_order_their_partitions_are_added(
    engine, evaluate
):
    for offset in range(12):
        _one_off(engine, TODAY + dt.timedelta(days=offset))

    result = evaluate("occasion_detection_sensor")

    added = _added_partitions(result)
    (request,) = result.run_requests
    assert len(added) == 12
    assert request.partition_key is None
    assert process_ids_of([request.tags[tags.RANGE_START], request.tags[tags.RANGE_END]]) == [
        added[0],
        added[-1],
    ]
    assert request.tags[tags.BATCH_SIZE] == "12"


@pytest.fixture
def new_york_url(database_url):
    """The test database reached through sessions whose timezone is not UTC (PostgreSQL only)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("session timezones are a PostgreSQL setting")
    return str(
        sa.engine.make_url(database_url)
        .update_query_dict({"options": "-c timezone=America/New_York"})
        .render_as_string(hide_password=False)
    )


def test_a_late_occasion_is_picked_up_when_the_database_session_is_not_in_utc(
    instance, new_york_url
):
    engine = get_engine(new_york_url)
    first = _evaluate(instance, new_york_url, "occasion_detection_sensor", AS_OF, None)
    late_day = TODAY + dt.timedelta(days=4)
    late = _one_off(engine, late_day)

    second = _evaluate(instance, new_york_url, "occasion_detection_sensor", AS_OF, first.cursor)

    assert set(_requested(second)) == {process_id_for(late, late_day)}


def test_many_expired_windows_are_run_as_ranges_of_the_instances_partitions(
    engine, evaluate, instance
):
    expired = [_open_window(engine, AS_OF - dt.timedelta(hours=1)) for _ in range(12)]
    ensure_process_partitions(instance, expired, engine)
    order = instance.get_dynamic_partitions("gift_processes")

    requests = evaluate("decision_window_sensor")

    covered = set()
    for request in requests:
        start, end = request.tags[tags.RANGE_START], request.tags[tags.RANGE_END]
        covered |= set(process_ids_of(order[order.index(start) : order.index(end) + 1]))
        assert request.run_key.startswith(f"decision-window-open:{start}..{end}:")
    assert covered >= set(expired)
