"""PostgreSQL array literals of a column's values: the one-join paths write what the
per-value path writes, for every mix of awkward text and numbers."""

import random

import pytest
import sqlalchemy as sa

from ivyi_pipeline.db.bulk import _element, array_literal


def _value_by_value(values: list, column_type: sa.types.TypeEngine) -> str:
    floats, integers = isinstance(column_type, sa.Float), isinstance(column_type, sa.Integer)
    return "{" + ",".join(_element(v, floats, integers) for v in values) + "}"


@pytest.mark.parametrize(
    ("values", "column_type"),
    [
        (["plain", "with space", "", ",", "{}", "é ✓", "NULL"], sa.String()),
        (['a "quoted" word'], sa.String()),
        (['"', "a"], sa.String()),
        (['a"', '"b'], sa.String()),
        (["back\\slash", "x"], sa.String()),
        (["", ""], sa.String()),
        (["a", None], sa.String()),
        ([1, -2, 3], sa.Integer()),
        ([1.0, 2.0], sa.Integer()),  # pandas' integers with gaps
        ([1, None], sa.Integer()),
        ([0.5, float("nan"), 1e-300, -3.25], sa.Float()),
        ([1.5, float("nan")], sa.String()),
        ([True, False], sa.Boolean()),
        ([], sa.String()),
    ],
)
def test_a_column_is_written_as_value_by_value(values, column_type):
    assert array_literal(values, column_type) == _value_by_value(values, column_type)


def test_random_text_of_quotes_backslashes_and_separators_is_written_as_value_by_value():
    rnd = random.Random(20)
    for _ in range(5_000):
        values = [
            "".join(rnd.choice('ab"\\,{} ') for _ in range(rnd.randint(0, 3)))
            for _ in range(rnd.randint(1, 4))
        ]
        assert array_literal(values, sa.String()) == _value_by_value(values, sa.String()), values
