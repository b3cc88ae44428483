"""`ivyi load`: CSV files in, all or nothing, idempotently, on SQLite and PostgreSQL."""

import datetime as dt
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ivyi_pipeline.data import generate_dataset, load_csv_directory, load_directory, write_csv
from ivyi_pipeline.data.db_write import TABLES
from ivyi_pipeline.db.schema import occasions
from ivyi_pipeline.entrypoints.cli import main
from ivyi_pipeline.errors import InvalidInput

AS_OF = dt.date(2026, 6, 1)
EMPTY = dict.fromkeys(TABLES, 0)


@pytest.fixture
def dataset():
    """A small synthetic data set."""
    return generate_dataset(as_of=AS_OF, occasions=24, gifts=12, seed=11)


@pytest.fixture
def csv_dir(tmp_path, dataset) -> Path:
    """The data set written as the five CSV files."""
    directory = tmp_path / "csv"
    write_csv(dataset, directory)
    return directory


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in TABLES.items()
        }


def _read(directory: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(directory / f"{name}.csv", dtype=str, keep_default_na=False)


def _write(directory: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(directory / f"{name}.csv", index=False)


def _set_cell(directory: Path, name: str, row: int, column: str, value: str) -> None:
    frame = _read(directory, name)
    frame.loc[row, column] = value
    _write(directory, name, frame)


def _load_error(engine: sa.Engine, directory: Path) -> str:
    with pytest.raises(InvalidInput) as raised:
        load_directory(engine, directory)
    return str(raised.value)


def test_loading_seeded_csv_files_writes_every_row_and_a_second_load_writes_nothing(
    engine, csv_dir, dataset
):
    first = load_csv_directory(engine, csv_dir)
    second = load_csv_directory(engine, csv_dir)

    assert first.written == dataset.counts() == _counts(engine)
    assert second.written == EMPTY
    assert second.already_present == dataset.counts()
    assert _counts(engine) == dataset.counts()


def test_loaded_occasions_carry_their_month_and_day(engine, csv_dir, dataset):
    load_directory(engine, csv_dir)

    expected = dataset.occasions.set_index("id")["month_day"].to_dict()
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(occasions.c.id, occasions.c.month_day)).all())
    assert stored == expected


@pytest.mark.parametrize(
    ("name", "row", "column", "value", "detail"),
    [
        ("users", 3, "id", "42", "'42' is not a UUID"),
        ("users", 3, "email", "", "a value is required"),
        ("relationships", 3, "budget_cents", "12.5", "'12.5' is not a whole number"),
        ("relationships", 3, "budget_cents", "0", "'0' is not greater than 0"),
        ("relationships", 3, "depth", "BFF", "'BFF' is not one of ACQUAINTANCE, FRIEND"),
        ("occasions", 5, "date", "2024-13-01", "'2024-13-01' is not a YYYY-MM-DD date"),
        ("occasions", 5, "date", "2023-02-29", "'2023-02-29' is not a YYYY-MM-DD date"),
        ("occasions", 5, "kind", "birthday", "'birthday' is not one of BIRTHDAY"),
        ("occasions", 5, "recurs_yearly", "yes", "'yes' is not true or false"),
        ("gifts", 2, "price_cents", "-300", "'-300' is not greater than 0"),
        ("preferences", 1, "affinity", "1.5", "'1.5' is not a number from 0 to 1"),
        ("preferences", 1, "affinity", "high", "'high' is not a number from 0 to 1"),
    ],
)
def test_a_bad_value_rejects_the_whole_load_naming_file_line_and_column(
    engine, csv_dir, name, row, column, value, detail
):
    _set_cell(csv_dir, name, row, column, value)

    message = _load_error(engine, csv_dir)

    assert message.startswith(f"{name}.csv line {row + 2}, column {column}: {detail}")
    assert _counts(engine) == EMPTY


def test_a_reference_to_an_unknown_id_is_rejected(engine, csv_dir):
    unknown = str(uuid.uuid4())
    _set_cell(csv_dir, "occasions", 4, "relationship_id", unknown)

    message = _load_error(engine, csv_dir)

    assert message == (
        f"occasions.csv line 6, column relationship_id: '{unknown}' is not an id in "
        "relationships.csv or in the database"
    )
    assert _counts(engine) == EMPTY


def test_an_occasion_whose_recipient_is_not_its_relationships_recipient_is_rejected(
    engine, csv_dir, dataset
):
    occasion = dataset.occasions.iloc[2]
    other = dataset.users.loc[dataset.users["id"] != occasion["recipient_id"], "id"].iloc[0]
    _set_cell(csv_dir, "occasions", 2, "recipient_id", other)

    message = _load_error(engine, csv_dir)

    assert message.startswith(
        f"occasions.csv line 4, column recipient_id: '{other}' is not the recipient of "
        f"relationship '{occasion['relationship_id']}'"
    )
    assert _counts(engine) == EMPTY


def test_a_duplicate_id_within_a_file_is_rejected_naming_both_lines(engine, csv_dir, dataset):
    duplicate = dataset.users["id"].iloc[1]
    _set_cell(csv_dir, "users", 4, "id", duplicate)

    message = _load_error(engine, csv_dir)

    assert message == f"users.csv line 6, column id: duplicate id '{duplicate}', first on line 3"
    assert _counts(engine) == EMPTY


def test_an_id_already_stored_with_other_values_is_rejected_and_nothing_else_is_written(
    engine, csv_dir, dataset
):
    load_directory(engine, csv_dir)
    gift_id = dataset.gifts["id"].iloc[2]
    _set_cell(csv_dir, "gifts", 2, "price_cents", "123456")
    users = _read(csv_dir, "users")
    new_user = {"id": str(uuid.uuid4()), "name": "New Person", "email": "new@example.com"}
    _write(csv_dir, "users", pd.concat([users, pd.DataFrame([new_user])]))

    message = _load_error(engine, csv_dir)

    assert message == (
        f"gifts.csv line 4, column price_cents: id '{gift_id}' is already in the database "
        "with a different price_cents"
    )
    assert _counts(engine) == dataset.counts()


def test_a_missing_column_is_rejected_naming_the_header_line(engine, csv_dir):
    _write(csv_dir, "occasions", _read(csv_dir, "occasions").drop(columns=["date"]))

    message = _load_error(engine, csv_dir)

    assert message == "occasions.csv line 1, column date: the column is missing"
    assert _counts(engine) == EMPTY


def test_a_missing_required_file_is_rejected(engine, csv_dir):
    (csv_dir / "gifts.csv").unlink()

    assert _load_error(engine, csv_dir).startswith("gifts.csv: the file is missing")
    assert _counts(engine) == EMPTY


@pytest.mark.parametrize(
    ("line", "also"), [(2, None), (4, None), (2, 4)], ids=["first row", "later row", "both"]
)
def test_a_row_with_too_many_fields_is_rejected(engine, csv_dir, dataset, line, also):
    # The first data row is the one pandas would take as an index column, shifting every
    # value one column right (a user's name then read as an id).
    path = csv_dir / "users.csv"
    lines = path.read_text().splitlines()
    for number in {line, also} - {None}:
        lines[number - 1] += ",extra"
    path.write_text("\n".join(lines) + "\n")

    message = _load_error(engine, csv_dir)

    header = len(lines[0].split(","))
    assert message == f"users.csv: line {line} has {header + 1} fields, the header has {header}"
    assert not any(name in message for name in dataset.users["name"])
    assert _counts(engine) == EMPTY


def test_a_quote_never_closed_is_rejected_naming_its_line(engine, csv_dir):
    gifts = _read(csv_dir, "gifts")
    gifts.loc[0, "name"] = "A gift\nover two lines"  # records and lines no longer agree
    _write(csv_dir, "gifts", gifts)
    path = csv_dir / "gifts.csv"
    lines = path.read_text().splitlines()
    lines[4] = '"' + lines[4]
    path.write_text("\n".join(lines) + "\n")

    assert _load_error(engine, csv_dir) == (
        "gifts.csv: the quoted field opened on line 5 is never closed; close its quote"
    )
    assert _counts(engine) == EMPTY


def test_preferences_are_optional_and_extra_columns_are_ignored(engine, csv_dir, dataset):
    (csv_dir / "preferences.csv").unlink()
    _write(csv_dir, "users", _read(csv_dir, "users").assign(notes="ignored"))

    written = load_directory(engine, csv_dir)

    assert written == {**dataset.counts(), "preferences": 0}


def test_references_may_name_rows_already_in_the_database(engine, csv_dir, dataset, tmp_path):
    later = tmp_path / "later"
    shutil.copytree(csv_dir, later)
    for name in ("occasions", "preferences"):
        _write(csv_dir, name, _read(csv_dir, name).iloc[0:0])
    load_directory(engine, csv_dir)
    for name in ("users", "relationships", "gifts"):
        _write(later, name, _read(later, name).iloc[0:0])

    written = load_directory(engine, later)

    assert written == {**EMPTY, "occasions": 24, "preferences": len(dataset.preferences)}
    assert _counts(engine) == dataset.counts()


def test_an_occasion_must_share_the_recipient_of_a_relationship_in_the_database(
    engine, csv_dir, dataset, tmp_path
):
    later = tmp_path / "later"
    shutil.copytree(csv_dir, later)
    _write(csv_dir, "occasions", _read(csv_dir, "occasions").iloc[0:0])
    load_directory(engine, csv_dir)
    for name in ("users", "relationships", "gifts", "preferences"):
        _write(later, name, _read(later, name).iloc[0:0])
    occasions = dataset.occasions
    other = dataset.users.loc[dataset.users["id"] != occasions["recipient_id"].iloc[1], "id"]
    _set_cell(later, "occasions", 1, "recipient_id", other.iloc[0])

    message = _load_error(engine, later)

    assert message.startswith("occasions.csv line 3, column recipient_id:")
    assert "is not the recipient of relationship" in message
    assert _counts(engine) == {**dataset.counts(), "occasions": 0}


def test_error_messages_never_contain_names_or_emails(engine, csv_dir, dataset):
    email = dataset.users["email"].iloc[3]
    _set_cell(csv_dir, "users", 3, "email", email.replace("@", " at "))
    _set_cell(csv_dir, "users", 5, "name", "Secret Name " * 20)

    message = _load_error(engine, csv_dir)

    assert message == "users.csv line 5, column email: not an email address"
    assert email.split("@")[0] not in message


def test_line_numbers_count_physical_lines_of_quoted_multiline_values(engine, csv_dir):
    gifts = _read(csv_dir, "gifts")
    gifts.loc[1, "name"] = "A gift\nover two lines"
    gifts.loc[4, "in_stock"] = "maybe"
    _write(csv_dir, "gifts", gifts)

    message = _load_error(engine, csv_dir)

    assert message.startswith("gifts.csv line 7, column in_stock: 'maybe'")


def test_ivyi_load_prints_a_summary_then_reports_rows_already_present(ivyi_env, csv_dir, dataset):
    runner = CliRunner()

    first = runner.invoke(main, ["load", str(csv_dir)])
    second = runner.invoke(main, ["load", str(csv_dir)])

    assert first.exit_code == 0, first.output
    assert f"occasions: {len(dataset.occasions)} written, 0 already present" in first.stdout
    assert second.exit_code == 0, second.output
    assert f"occasions: 0 written, {len(dataset.occasions)} already present" in second.stdout


def test_ivyi_load_of_a_bad_file_exits_non_zero_with_one_line_and_writes_nothing(
    ivyi_env, csv_dir, engine
):
    _set_cell(csv_dir, "occasions", 5, "date", "2024-13-01")

    result = CliRunner().invoke(main, ["load", str(csv_dir)])

    assert result.exit_code == 1
    assert result.stderr == (
        "error: occasions.csv line 7, column date: '2024-13-01' is not a YYYY-MM-DD date\n"
    )
    assert _counts(engine) == EMPTY
