"""Synthetic data: deterministic, plausible, written as CSV or to the database by `ivyi seed`."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ivyi_pipeline.data import generate_dataset, load_csv_directory
from ivyi_pipeline.data.dataset import CSV_COLUMNS
from ivyi_pipeline.data.db_write import TABLES
from ivyi_pipeline.data.vocabulary import CATEGORIES, DEPTH_BUDGET_CENTS, DEPTHS
from ivyi_pipeline.entrypoints.cli import main

AS_OF = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def dataset():
    """A data set big enough for its proportions to show."""
    return generate_dataset(as_of=AS_OF, occasions=2_000, gifts=1_000, seed=5)


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in TABLES.items()
        }


def test_the_same_seed_gives_identical_frames():
    first = generate_dataset(as_of=AS_OF, occasions=300, seed=3)
    second = generate_dataset(as_of=AS_OF, occasions=300, seed=3)

    for (name, left), (_, right) in zip(first.parts(), second.parts(), strict=True):
        pd.testing.assert_frame_equal(left, right, obj=name)


def test_another_seed_gives_other_data():
    first = generate_dataset(as_of=AS_OF, occasions=300, seed=3)
    second = generate_dataset(as_of=AS_OF, occasions=300, seed=4)

    for name in ("users", "relationships", "occasions", "gifts"):
        assert not getattr(first, name)["id"].isin(getattr(second, name)["id"]).any()
    assert not first.preferences.equals(second.preferences)


def test_sizes_follow_the_arguments_and_users_default_to_half_the_occasions():
    data = generate_dataset(as_of=AS_OF, occasions=301, gifts=17, seed=1)
    sized = generate_dataset(as_of=AS_OF, occasions=10, users=40, gifts=0, seed=1)

    assert (len(data.occasions), len(data.users), len(data.gifts)) == (301, 151, 17)
    assert (len(sized.occasions), len(sized.users), len(sized.gifts)) == (10, 40, 0)


def test_every_reference_resolves_and_occasions_share_their_relationships_recipient(dataset):
    relationships = dataset.relationships.set_index("id")
    occasions = dataset.occasions

    assert dataset.relationships["giver_id"].isin(dataset.users["id"]).all()
    assert dataset.relationships["recipient_id"].isin(dataset.users["id"]).all()
    assert (dataset.relationships["giver_id"] != dataset.relationships["recipient_id"]).all()
    assert not dataset.relationships.duplicated(["giver_id", "recipient_id"]).any()
    assert occasions["relationship_id"].isin(relationships.index).all()
    recipients = occasions["relationship_id"].map(relationships["recipient_id"])
    assert (recipients == occasions["recipient_id"]).all()
    assert dataset.preferences["user_id"].isin(dataset.relationships["recipient_id"]).all()


def test_ids_are_unique_uuids_and_emails_use_reserved_example_domains(dataset):
    for _, frame in dataset.parts():
        if "id" in frame:
            assert frame["id"].is_unique
            assert (
                frame["id"].str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-.{4}-.{12}").all()
            )
    assert dataset.users["email"].is_unique
    assert dataset.users["email"].str.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|net|org)").all()


def test_budgets_depend_on_depth(dataset):
    relationships = dataset.relationships
    for depth, (low, high) in zip(DEPTHS, DEPTH_BUDGET_CENTS, strict=True):
        budgets = relationships.loc[relationships["depth"] == depth, "budget_cents"]
        assert len(budgets) > 0
        assert budgets.between(low, high).all()


def test_occasions_are_dated_by_kind_and_spread_over_the_year(dataset):
    occasions = dataset.occasions
    kind, date = occasions["kind"], occasions["date"]
    birthdays = date[kind == "BIRTHDAY"]
    one_off = date[kind.isin(["GRADUATION", "OTHER"])]
    as_of = pd.Timestamp(AS_OF)

    assert len(birthdays) == len(dataset.relationships)
    assert birthdays.dt.year.between(1950, 2012).all()
    assert (one_off > as_of).all()
    assert (one_off <= as_of + pd.Timedelta(days=365)).all()
    assert (occasions["recurs_yearly"] == ~kind.isin(["GRADUATION", "OTHER"])).all()
    assert set(kind) == {"BIRTHDAY", "ANNIVERSARY", "HOLIDAY", "GRADUATION", "OTHER"}
    assert set(date.dt.month) == set(range(1, 13))
    assert (occasions["month_day"] == date.dt.month * 100 + date.dt.day).all()


def test_the_catalogue_has_every_category_plausible_prices_stock_and_tags(dataset):
    gifts = dataset.gifts

    assert set(gifts["category"]) == set(CATEGORIES)
    assert gifts["price_cents"].between(799, 60_000).all()
    assert 0.85 < gifts["in_stock"].mean() < 0.95
    assert gifts["tags"].str.count(";").between(0, 2).all()
    assert (gifts["tags"] != "").all()


def test_about_seventy_percent_of_recipients_have_two_to_four_preferences(dataset):
    preferences = dataset.preferences
    per_user = preferences.groupby("user_id").size()
    recipients = dataset.relationships["recipient_id"].nunique()

    assert 0.6 < len(per_user) / recipients < 0.8
    assert per_user.between(2, 4).all()
    assert not preferences.duplicated(["user_id", "category"]).any()
    assert preferences["affinity"].between(0, 1).all()


def test_tiny_data_sets_are_consistent():
    for occasions in (0, 1, 3):
        data = generate_dataset(as_of=AS_OF, occasions=occasions, gifts=1, seed=2)
        assert len(data.occasions) == occasions
        assert math.ceil(occasions * 0.45) == len(data.relationships)
        assert not np.any(data.relationships["giver_id"] == data.relationships["recipient_id"])


def test_ivyi_seed_csv_writes_the_five_files_with_their_headers(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "seed",
            "--occasions",
            "30",
            "--seed",
            "2",
            "--as-of",
            "2026-06-01",
            "--csv",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 0, result.output
    for name, columns in CSV_COLUMNS.items():
        header = (tmp_path / f"{name}.csv").read_text().splitlines()[0]
        assert header == ",".join(columns)


def test_ivyi_seed_fills_the_database_and_refuses_to_seed_the_same_rows_twice(ivyi_env, engine):
    args = ["seed", "--occasions", "40", "--gifts", "25", "--seed", "9", "--as-of", "2026-06-01"]
    expected = generate_dataset(as_of=AS_OF, occasions=40, gifts=25, seed=9).counts()

    first = CliRunner().invoke(main, args)
    second = CliRunner().invoke(main, args)

    assert first.exit_code == 0, first.output
    assert _counts(engine) == expected
    assert second.exit_code == 1
    assert second.stderr.startswith("error: some of these ids are already in the database")
    assert _counts(engine) == expected


def test_seeded_csv_files_load_as_already_present_after_seeding_the_database(
    ivyi_env, engine, tmp_path
):
    args = ["--occasions", "20", "--seed", "4", "--as-of", "2026-06-01"]
    runner = CliRunner()
    assert runner.invoke(main, ["seed", *args]).exit_code == 0
    assert runner.invoke(main, ["seed", *args, "--csv", str(tmp_path)]).exit_code == 0

    summary = load_csv_directory(engine, tmp_path)

    assert sum(summary.written.values()) == 0
    assert summary.already_present == _counts(engine)
