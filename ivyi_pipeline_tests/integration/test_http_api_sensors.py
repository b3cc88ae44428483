"""What the HTTP API accepts, the sensors pick up as they do today: an occasion started over
HTTP is run by the detection sensor, a confirmation by the confirmation sensor and a carrier's
updates by the fulfilment sensor, each at the next tick, through to COMPLETED."""

import datetime as dt

import pytest

from benchmarks.api_server import ivyi_serve
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.entrypoints.local_runs import tick
from ivyi_pipeline_tests.api_scenes import SERVER_AS_OF, SERVER_NOW
from ivyi_pipeline_tests.factories import (
    make_gift,
    make_occasion,
    make_preference,
    make_relationship,
    make_user,
    process_status,
)
from ivyi_pipeline_tests.integration.test_derived_instance import definitions_on


@pytest.fixture
def served(tmp_path):
    url = f"sqlite:///{tmp_path / 'ivyi.db'}"
    upgrade(url)
    with ivyi_serve(url, tmp_path / "serve.log", as_of=SERVER_AS_OF) as api, api.client() as http:
        yield api, http, get_engine(url), url
    get_engine(url).dispose()


def test_an_occasion_started_confirmed_shipped_and_delivered_over_http_completes_by_ticks(
    served, instance, monkeypatch
):
    api, http, engine, url = served
    monkeypatch.setenv("IVYI_DATABASE_URL", url)
    make_gift(engine, category="games", price_cents=3000)
    recipient = make_user(engine)
    make_preference(engine, recipient, "games", 0.9)
    relationship = make_relationship(engine, recipient_id=recipient)
    occasion = make_occasion(
        engine, relationship_id=relationship, date=dt.date(2026, 6, 15), recurs_yearly=False
    )
    defs = definitions_on(url)

    started = http.post(f"/occasions/{occasion}/gifting-process", headers=api.headers())
    assert started.status_code == 201, started.text
    pid = started.json()["process_id"]
    assert tick(instance, defs, SERVER_NOW).ok
    assert process_status(engine, pid) == "DECISION_WINDOW_OPEN"

    gift = http.get(f"/gifting-processes/{pid}", headers=api.headers()).json()["ranked_gift_ids"][0]
    confirmed = http.post(
        f"/gifting-processes/{pid}/confirmation", json={"gift_id": gift}, headers=api.headers()
    )
    assert confirmed.status_code == 202, confirmed.text
    assert tick(instance, defs, SERVER_NOW).ok
    assert process_status(engine, pid) == "ORDERED"

    order_id = f"SIM-{pid}"
    for event, status in (("shipped", "SHIPPED"), ("delivered", "COMPLETED")):
        raw, headers = api.signed(
            {"order_id": order_id, "event": event, "occurred_at": SERVER_AS_OF}
        )
        update = http.post("/fulfilment-events", content=raw, headers=headers)
        assert update.status_code == 202, update.text
        # The simulated provider alone ships a day after the order: only the carrier's update
        # can move the process at this instant.
        assert tick(instance, defs, SERVER_NOW).ok
        assert process_status(engine, pid) == status
    shown = http.get(f"/occasions/{occasion}/gifting-process", headers=api.headers()).json()
    assert (shown["process_id"], shown["status"], shown["selected_gift_id"]) == (
        pid,
        "COMPLETED",
        gift,
    )
