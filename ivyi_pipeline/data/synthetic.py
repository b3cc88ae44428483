"""Deterministic synthetic data sets of any size, generated with numpy (no I/O, no clock)."""

import datetime as dt
import math

import numpy as np
import pandas as pd

from ivyi_pipeline.data import vocabulary as vocab
from ivyi_pipeline.data.dataset import Dataset, month_day
from ivyi_pipeline.errors import InvalidInput

DEFAULT_OCCASIONS = 200
DEFAULT_GIFTS = 300
BIRTHDAY_SHARE = 0.45
"""Share of occasions that are birthdays; there is one relationship per birthday."""
PREFERENCE_SHARE = 0.7
IN_STOCK_SHARE = 0.9

_BIRTH_RANGE = (np.datetime64("1950-01-01"), np.datetime64("2012-12-31"))
_ANNIVERSARY_START = np.datetime64("1975-01-01")
_UUID_HEX_POSITIONS = [i for i in range(36) if i not in (8, 13, 18, 23)]


def default_users(occasions: int) -> int:
    """Users for a given number of occasions: about one per two occasions, at least two."""
    return max(2, math.ceil(occasions / 2))


def generate_dataset(
    *,
    as_of: dt.date,
    occasions: int = DEFAULT_OCCASIONS,
    users: int | None = None,
    gifts: int = DEFAULT_GIFTS,
    seed: int = 0,
) -> Dataset:
    """A plausible data set; the same arguments always give identical frames."""
    users = default_users(occasions) if users is None else users
    _check_sizes(occasions, users, gifts, seed)
    # Every argument feeds the seed, so data sets of other sizes or days never share ids.
    entropy = [seed, occasions, users, gifts, as_of.toordinal()]
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(entropy).spawn(5)]
    user_frame, birth_dates = _users(rngs[0], users)
    n_relationships = math.ceil(occasions * BIRTHDAY_SHARE)
    relationship_frame, recipients = _relationships(rngs[1], n_relationships, users)
    relationship_frame["giver_id"] = user_frame["id"].to_numpy()[relationship_frame["giver_id"]]
    relationship_frame["recipient_id"] = user_frame["id"].to_numpy()[recipients]
    occasion_frame = _occasions(
        rngs[2], occasions, relationship_frame, birth_dates[recipients], np.datetime64(as_of, "D")
    )
    return Dataset(
        users=user_frame,
        relationships=relationship_frame,
        occasions=occasion_frame,
        gifts=_gifts(rngs[3], gifts),
        preferences=_preferences(rngs[4], user_frame["id"].to_numpy(), np.unique(recipients)),
    )


def _check_sizes(occasions: int, users: int, gifts: int, seed: int) -> None:
    for name, value in (("occasions", occasions), ("users", users), ("gifts", gifts)):
        if value < 0:
            raise InvalidInput(f"--{name} {value} is negative")
    if occasions > 0 and users < 2:
        raise InvalidInput(f"--users {users}: relationships need at least 2 users")
    if seed < 0:
        raise InvalidInput(f"--seed {seed} is negative")


def uuid4s(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as lowercase strings, drawn from rng."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hex_chars = np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype=np.uint8)
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    chars[:, _UUID_HEX_POSITIONS] = hex_chars.reshape(n, 32)
    return chars.view("S36").ravel().astype(str)


def _pick(rng: np.random.Generator, words: tuple[str, ...], n: int) -> pd.Series:
    return pd.Series(np.asarray(words)[rng.integers(0, len(words), n)])


def _random_days(rng: np.random.Generator, start, end, n: int) -> np.ndarray:
    """n dates drawn uniformly from start to end, both included."""
    span = max(int((end - start) / np.timedelta64(1, "D")), 0)
    return start + rng.integers(0, span + 1, n).astype("timedelta64[D]")


def _users(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Users and their birth dates (which their birthdays use)."""
    first = _pick(rng, vocab.FIRST_NAMES, n)
    surname = _pick(rng, vocab.SURNAME_HEADS, n) + _pick(rng, vocab.SURNAME_TAILS, n)
    number = pd.Series(np.arange(1, n + 1)).astype(str)
    domain = _pick(rng, vocab.EMAIL_DOMAINS, n)
    email = first.str.lower() + "." + surname.str.lower() + number + "@" + domain
    frame = pd.DataFrame({"id": uuid4s(rng, n), "name": first + " " + surname, "email": email})
    return frame, _random_days(rng, *_BIRTH_RANGE, n)


def _relationships(
    rng: np.random.Generator, n: int, n_users: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Relationships with giver indices in giver_id, and the recipients' indices."""
    givers = rng.integers(0, max(1, n_users // 4), n)
    recipients = _distinct_recipients(rng, givers, n_users)
    depth = rng.choice(len(vocab.DEPTHS), size=n, p=vocab.DEPTH_WEIGHTS)
    low, high = np.asarray(vocab.DEPTH_BUDGET_CENTS).T
    budget = low[depth] + rng.random(n) * (high[depth] - low[depth])
    frame = pd.DataFrame(
        {
            "id": uuid4s(rng, n),
            "giver_id": givers,
            "recipient_id": recipients,
            "depth": np.asarray(vocab.DEPTHS)[depth],
            "budget_cents": np.maximum(np.round(budget / 500) * 500, low[depth]).astype("int64"),
        }
    )
    return frame, recipients


def _distinct_recipients(rng: np.random.Generator, givers: np.ndarray, n_users: int) -> np.ndarray:
    """A recipient per relationship, never the giver, and distinct per giver while users last."""
    others = max(n_users - 1, 1)
    order = np.argsort(givers, kind="stable")
    sorted_givers = givers[order]
    starts = np.searchsorted(sorted_givers, sorted_givers)
    rank = np.empty_like(givers)
    rank[order] = np.arange(len(givers)) - starts
    base = rng.integers(0, others, max(n_users, 1))[givers]
    # Offsets 1..n_users-1 from the giver never land on the giver itself.
    return (givers + 1 + (base + rank) % others) % max(n_users, 1)


def _occasions(
    rng: np.random.Generator,
    n: int,
    relationships: pd.DataFrame,
    recipient_births: np.ndarray,
    as_of: np.datetime64,
) -> pd.DataFrame:
    """One birthday per relationship, then holidays, anniversaries and one-off occasions."""
    n_relationships = len(relationships)
    extra = n - n_relationships
    kind = np.asarray(vocab.EXTRA_KINDS)[
        rng.choice(len(vocab.EXTRA_KINDS), size=extra, p=vocab.EXTRA_KIND_WEIGHTS)
    ]
    owner = rng.integers(0, max(n_relationships, 1), extra)
    close = np.flatnonzero(relationships["depth"].isin(["PARTNER", "FAMILY"]).to_numpy())
    anniversary = kind == "ANNIVERSARY"
    if len(close):
        owner[anniversary] = close[rng.integers(0, len(close), anniversary.sum())]
    holidays = np.array(
        [f"{as_of.astype(object).year}-{md}" for md in vocab.HOLIDAYS], dtype="datetime64[D]"
    )
    date = np.where(
        kind == "HOLIDAY",
        holidays[rng.choice(len(holidays), size=extra, p=vocab.HOLIDAY_WEIGHTS)],
        np.where(
            anniversary,
            _random_days(rng, _ANNIVERSARY_START, as_of - np.timedelta64(365, "D"), extra),
            _random_days(
                rng, as_of + np.timedelta64(1, "D"), as_of + np.timedelta64(365, "D"), extra
            ),
        ),
    )
    relationship_index = np.concatenate([np.arange(n_relationships), owner])
    dates = pd.Series(np.concatenate([recipient_births, date]).astype("datetime64[s]"))
    kinds = np.concatenate([np.full(n_relationships, "BIRTHDAY"), kind])
    frame = pd.DataFrame(
        {
            "id": uuid4s(rng, n),
            "relationship_id": relationships["id"].to_numpy()[relationship_index],
            "recipient_id": relationships["recipient_id"].to_numpy()[relationship_index],
            "kind": kinds,
            "date": dates,
            "recurs_yearly": np.isin(kinds, ["BIRTHDAY", "ANNIVERSARY", "HOLIDAY"]),
        }
    )
    frame["month_day"] = month_day(frame["date"])
    return frame


def _gifts(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """A catalogue: log-normal prices around each category's median, ~90% in stock, 1-3 tags."""
    category = rng.integers(0, len(vocab.CATEGORIES), n)
    products = np.asarray(vocab.PRODUCTS)[category, rng.integers(0, len(vocab.PRODUCTS[0]), n)]
    name = _pick(rng, vocab.ADJECTIVES, n) + " " + pd.Series(products)
    median = np.asarray(vocab.MEDIAN_PRICE_CENTS)[category]
    price = np.clip(median * np.exp(rng.normal(0.0, 0.6, n)), 800, 60_000)
    return pd.DataFrame(
        {
            "id": uuid4s(rng, n),
            "name": name,
            "category": np.asarray(vocab.CATEGORIES)[category],
            # Prices end in 99 cents, like a shop's.
            "price_cents": (np.round(price / 100) * 100 - 1).astype("int64"),
            "tags": _tags(rng, category),
            "in_stock": rng.random(n) < IN_STOCK_SHARE,
        }
    )


def _tags(rng: np.random.Generator, category: np.ndarray) -> pd.Series:
    """1 to 3 distinct tags of each gift's category, joined with ';'."""
    n = len(category)
    order = np.argsort(rng.random((n, len(vocab.TAGS[0]))), axis=1)
    chosen = np.asarray(vocab.TAGS)[category[:, None], order[:, :3]]
    count = rng.integers(1, 4, n)
    tags = pd.Series(chosen[:, 0])
    for k in (1, 2):
        tags = tags.where(count <= k, tags + ";" + chosen[:, k])
    return tags


def _preferences(
    rng: np.random.Generator, user_ids: np.ndarray, recipients: np.ndarray
) -> pd.DataFrame:
    """2 to 4 distinct categories with an affinity in 0..1 for ~70% of recipients."""
    who = recipients[rng.random(len(recipients)) < PREFERENCE_SHARE]
    count = rng.integers(2, 5, len(who))
    order = np.argsort(rng.random((len(who), len(vocab.CATEGORIES))), axis=1)
    row = np.repeat(np.arange(len(who)), count)
    rank = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    return pd.DataFrame(
        {
            "user_id": user_ids[who[row]],
            "category": np.asarray(vocab.CATEGORIES)[order[row, rank]],
            "affinity": np.round(rng.beta(2.0, 2.0, len(row)), 3),
        }
    )
