"""Security, by behaviour: secrets in the environment stay out of what Dagster records, hostile
text is bound as SQL parameters, the repository holds no credentials. That `ivyi ui` listens on
loopback only is asserted on the `ivyi ui` that e2e/test_ui_signals.py starts anyway."""

import datetime as dt
import re
import secrets
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import gift_options, gifts, ranked_decisions, users
from ivyi_pipeline.settings import CELERY_BROKER_ENV
from ivyi_pipeline_tests.dagster_runs import everything_recorded, execute_gifting_job
from ivyi_pipeline_tests.deployment import throwaway_database
from ivyi_pipeline_tests.factories import (
    make_gift,
    make_occasion,
    make_preference,
    make_process,
    make_relationship,
    make_user,
    process_status,
)
from ivyi_pipeline_tests.reliability import Deployment

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-06-01"
AS_OF = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
OCCURRENCE = dt.date(2026, 6, 15)

URL_WITH_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:[^\s@/'\"{}$*]+@")
DUMMIES = {"postgresql://ivyi:secret@"}
"""Made-up credentials of a redaction test, for a server on port 1 that does not exist."""
PASSWORD_VALUE = re.compile(r"""(?i)\b(password|passwd|secret|api_key)\s*[:=]\s*['"][^'"]+['"]""")


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def _texts():
    for path in _tracked_files():
        try:
            yield path, path.read_text()
        except UnicodeDecodeError:
            continue


def test_no_url_with_a_password_and_no_password_value_is_in_the_repository():
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path, text in _texts()
        for pattern in (URL_WITH_PASSWORD, PASSWORD_VALUE)
        for match in pattern.finditer(text)
        if match.group(0) not in DUMMIES
    ]
    assert found == []


def test_the_credential_check_would_catch_a_url_with_a_password():
    # Built from parts, so that this file holds no such URL itself.
    assert URL_WITH_PASSWORD.search("postgresql://ivyi" + ":s3cret" + "@db.internal:5432/ivyi")
    assert not URL_WITH_PASSWORD.search("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    ]


@pytest.mark.postgres
def test_secrets_in_the_environment_reach_no_run_event_log_file_or_output(tmp_path):
    """The domain URL's password (the test server trusts, so any password connects) and a
    broker password, set as an operator would, through seed, tick and status."""
    password = f"pw-{secrets.token_hex(8)}"
    with throwaway_database("ivyi_secrets") as url:
        secret_url = str(sa.engine.make_url(url).set(password=password).render_as_string(False))
        deployment = Deployment(secret_url, tmp_path / "home")
        deployment.env[CELERY_BROKER_ENV] = f"pyamqp://ivyi:{password}@127.0.0.1:5672//"
        outputs = []
        for command in (
            ("db", "upgrade"),
            ("seed", "--occasions", "40", "--seed", "3", "--as-of", DAY),
            ("tick", "--as-of", f"{DAY}T09:00:00Z"),
            ("status", "--json"),
        ):
            done = deployment.run(*command)
            assert done.returncode == 0, done.stdout + done.stderr
            outputs.append(done.stdout + done.stderr)
        get_engine(secret_url).dispose()

    dagster_home = Path(deployment.env["DAGSTER_HOME"])
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        texts, events = everything_recorded(instance)
        runs = instance.get_runs(dg.RunsFilter(job_name="gifting_process_job"))

    assert runs, "the tick should have recorded gifting runs"
    assert events > 100
    assert ":***@" in outputs[1], "seed names its target with the password hidden"
    assert [o for o in outputs if password in o] == []
    assert [t for t in texts if password in t] == []
    assert _files_holding(tmp_path / "home", password.encode()) == []


HOSTILE = [
    "Robert'); DROP TABLE gifts; --",
    "%(name)s %s :name ? $1",
    'back\\slash "quoted" ;',
]


def test_hostile_text_is_stored_verbatim_and_compared_as_data_through_a_gifting_run(
    engine, database_url
):
    category = HOSTILE[0]
    recipient = make_user(engine, name=HOSTILE[1], email="hostile@example.test")
    make_preference(engine, recipient, category, 0.9)
    relationship = make_relationship(engine, recipient_id=recipient)
    occasion = make_occasion(
        engine, relationship_id=relationship, date=OCCURRENCE, recurs_yearly=False
    )
    process = make_process(engine, occasion)
    liked = make_gift(engine, category=category, price_cents=2000, tags=HOSTILE[2], name=HOSTILE[2])
    make_gift(engine, category="books", price_cents=2000)

    with dg.instance_for_test() as instance:
        result = execute_gifting_job(instance, database_url, (process,), AS_OF)

    assert result.success
    assert process_status(engine, process) == "DECISION_WINDOW_OPEN"
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(users.c.name).where(users.c.id == recipient)).scalar()
            == (HOSTILE[1])
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(gifts)).scalar() == 2
        categories = set(
            conn.execute(
                sa.select(gift_options.c.category).where(gift_options.c.process_id == process)
            ).scalars()
        )
        top = conn.execute(
            sa.select(ranked_decisions.c.gift_id).where(
                ranked_decisions.c.process_id == process, ranked_decisions.c.rank == 1
            )
        ).scalar()
    assert categories == {category, "books"}
    assert top == liked, "the recipient's affinity for the hostile category should rank it first"
