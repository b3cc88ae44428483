"""The type of every CSV column and its vectorized parser, which flags the values it rejects."""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from ivyi_pipeline.data.problems import show
from ivyi_pipeline.domain.enums import OccasionKind, RelationshipDepth

Flag = Callable[[pd.Series, Callable[[int], str]], None]
"""flag(bad_rows, describe): report the rows a parser rejects."""

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass(frozen=True)
class Text:
    """Free text up to max_length characters; never echoed, as it may be a name or an email."""

    max_length: int
    required: bool = True

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The text as is."""
        flag(raw.str.len() > self.max_length, lambda _: f"longer than {self.max_length} characters")
        # PostgreSQL cannot store NUL in text; SQLite could, so both refuse it here.
        flag(raw.str.contains("\x00", regex=False), lambda _: "contains a NUL character (\\0)")
        return raw


@dataclass(frozen=True)
class Email(Text):
    """An email address (something@domain.tld)."""

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The address as is."""
        flag(~raw.str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+"), lambda _: "not an email address")
        return super().parse(raw, flag)


@dataclass(frozen=True)
class Tags(Text):
    """A ';'-separated list, possibly empty; stored without blanks around separators."""

    required: bool = False

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The tags, trimmed and without empty entries."""
        tags = raw.str.replace(r"\s*;[\s;]*", ";", regex=True).str.strip(";")
        return super().parse(tags, flag)


@dataclass(frozen=True)
class Uuid:
    """A UUID in its 36-character form; stored in lower case."""

    required: bool = True

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The UUID in lower case."""
        flag(~raw.str.fullmatch(_UUID), lambda pos: f"{show(raw[pos])} is not a UUID")
        return raw.str.lower()


@dataclass(frozen=True)
class Choice:
    """One of an enumeration's values, spelled exactly."""

    enum: type[StrEnum]
    required: bool = True

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The value as is."""
        values = [member.value for member in self.enum]
        flag(~raw.isin(values), lambda pos: f"{show(raw[pos])} is not one of {', '.join(values)}")
        return raw


@dataclass(frozen=True)
class PositiveInteger:
    """A whole number greater than 0, such as an amount in cents."""

    required: bool = True

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The number as int64."""
        malformed = ~raw.str.fullmatch(r"[+-]?\d{1,18}")
        flag(malformed, lambda pos: f"{show(raw[pos])} is not a whole number")
        values = pd.to_numeric(raw.where(~malformed, "1")).astype("int64")
        flag(values <= 0, lambda pos: f"{show(raw[pos])} is not greater than 0")
        return values


@dataclass(frozen=True)
class IsoDate:
    """A calendar date written YYYY-MM-DD, from 0001-01-01 (Python's first) to 9999-12-31."""

    required: bool = True

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The date as datetime64."""
        malformed = ~raw.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
        text = raw.where(~malformed, "2000-01-01")
        dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        flag(malformed | dates.isna(), lambda pos: f"{show(raw[pos])} is not a YYYY-MM-DD date")
        flag(
            ~malformed & raw.str.startswith("0000"),
            lambda pos: f"{show(raw[pos])}: years run from 0001 to 9999",
        )
        return dates


@dataclass(frozen=True)
class Boolean:
    """true or false, in any case."""

    required: bool = True

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The flag as bool."""
        lowered = raw.str.lower()
        flag(~lowered.isin(["true", "false"]), lambda pos: f"{show(raw[pos])} is not true or false")
        return (lowered == "true").astype(bool)


@dataclass(frozen=True)
class Fraction:
    """A number from 0 to 1, both included."""

    required: bool = True

    def parse(self, raw: pd.Series, flag: Flag) -> pd.Series:
        """The number as float64."""
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        flag(~values.between(0.0, 1.0), lambda pos: f"{show(raw[pos])} is not a number from 0 to 1")
        return values


ColumnType = Text | Uuid | Choice | PositiveInteger | IsoDate | Boolean | Fraction

FILE_COLUMNS: dict[str, dict[str, ColumnType]] = {
    "users": {"id": Uuid(), "name": Text(200), "email": Email(320)},
    "relationships": {
        "id": Uuid(),
        "giver_id": Uuid(),
        "recipient_id": Uuid(),
        "depth": Choice(RelationshipDepth),
        "budget_cents": PositiveInteger(),
    },
    "occasions": {
        "id": Text(100),
        "relationship_id": Uuid(),
        "recipient_id": Uuid(),
        "kind": Choice(OccasionKind),
        "date": IsoDate(),
        "recurs_yearly": Boolean(),
    },
    "gifts": {
        "id": Uuid(),
        "name": Text(200),
        "category": Text(64),
        "price_cents": PositiveInteger(),
        "tags": Tags(10_000),
        "in_stock": Boolean(),
    },
    "preferences": {"user_id": Uuid(), "category": Text(64), "affinity": Fraction()},
}
"""The required columns of each file and their types; other columns are ignored."""
