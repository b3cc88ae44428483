"""Why a step failed, in the gifting process's words: what could not be done, and why.

An analyst reads these in `last_error` (`ivyi status`, the funnel's failed table) and in the
run's step failure, e.g. `order could not be placed: the database refused it (check
constraint orders_price_cap)`. Only schema names, exception classes and the words a schema's
own trigger raises are kept; values a database message may quote (a key, a row: its DETAIL
line, the statement's parameters) are left out.
"""

import re

import sqlalchemy as sa

from ivyi_pipeline.features.fulfilment import ProviderError

WHAT_FAILED = {
    "start_workflow": "the gift process could not start",
    "generate_options": "gift options could not be generated",
    "rank_options": "gift options could not be ranked",
    "open_decision_window": "the decision window could not be opened",
    "select_default": "the default gift could not be selected",
    "confirm_selection": "the giver's choice could not be confirmed",
    "place_order": "order could not be placed",
    "record_shipment": "the shipment could not be recorded",
    "complete_process": "the delivery could not be recorded",
}
"""Per step of the step table (`domain.states.STEPS`): what its failure left undone."""

DETAIL_LIMIT = 200

# PostgreSQL: `... violates unique constraint "orders_idempotency_key_key"`, and
# `null value in column "c" of relation "t" violates not-null constraint`.
_PG_CONSTRAINT = re.compile(r'violates (?:(\S+(?: key)?) )?constraint "([^"]+)"')
_PG_NOT_NULL = re.compile(r'column "([^"]+)" of relation "([^"]+)" violates not-null')
# SQLite: `UNIQUE constraint failed: orders.idempotency_key`, `CHECK constraint failed: name`.
_SQLITE_CONSTRAINT = re.compile(r"(UNIQUE|CHECK|NOT NULL|FOREIGN KEY) constraint failed(?:: (.+))?")
# What a recorded error's first line starts with before the database's own words:
# `sqlalchemy.exc.IntegrityError: (psycopg2.errors.CheckViolation) `.
_ERROR_PREFIX = re.compile(r"^(?:[\w.]+Error: )?(?:\([\w.]+\) )?")


def what_failed(step: str | None) -> str:
    """The step's undone work (`order could not be placed`); a step of no table: `<step> failed`."""
    if step in WHAT_FAILED:
        return WHAT_FAILED[step]
    return f"{step} failed" if step else "the run failed"


def constraint_of(message: str) -> str | None:
    """The constraint a database refusal names (`unique constraint orders.idempotency_key`)."""
    first = (message.strip().splitlines() or [""])[0]
    found = _PG_NOT_NULL.search(first)
    if found:
        return f"not-null constraint {found.group(2)}.{found.group(1)}"
    found = _PG_CONSTRAINT.search(first)
    if found:
        kind = f"{found.group(1).lower()} " if found.group(1) else ""
        return f"{kind}constraint {found.group(2)}"[:DETAIL_LIMIT]
    found = _SQLITE_CONSTRAINT.search(first)
    if found:
        kind = found.group(1).lower().replace("not null", "not-null")
        where = f" {found.group(2).strip()}" if found.group(2) else ""
        return f"{kind} constraint{where}"[:DETAIL_LIMIT]
    return None


def refusal_of(message: str) -> str:
    """What a database refusal says, in its schema's words: the constraint it names, else the
    first line a trigger raised (`orders are closed`), never a later line (DETAIL, parameters)."""
    constraint = constraint_of(message)
    if constraint:
        return constraint
    first = (message.strip().splitlines() or [""])[0]
    words = _ERROR_PREFIX.sub("", first, count=1).strip()
    return words[:DETAIL_LIMIT] or "a constraint"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:DETAIL_LIMIT]


def cause_of(exc: BaseException) -> str:
    """Why, in words: `the database refused it (check constraint orders_price_cap)`."""
    original = getattr(exc, "orig", None) or exc
    name = type(original).__name__
    if isinstance(exc, sa.exc.IntegrityError) or name.endswith("IntegrityError"):
        return f"the database refused it ({refusal_of(str(original))})"
    if isinstance(exc, ProviderError):
        return f"the fulfilment provider failed ({_first_line(exc)})"
    if isinstance(exc, sa.exc.OperationalError | sa.exc.TimeoutError):
        return f"the database was unavailable ({name})"
    if isinstance(exc, sa.exc.DataError):
        return f"the database refused a value ({name})"
    if isinstance(exc, sa.exc.DBAPIError):
        return f"the database could not run a statement ({name}: {_first_line(original)})"
    return f"an unexpected error ({name}: {_first_line(exc)})"


def cause_of_class(class_name: str, message: str) -> str:
    """`cause_of` from a recorded error: its class name and message, as the event log keeps them."""
    if class_name.endswith("IntegrityError"):
        return f"the database refused it ({refusal_of(message)})"
    if class_name in ("OperationalError", "TimeoutError"):
        return f"the database was unavailable ({class_name})"
    if class_name == "ProviderError":
        return "the fulfilment provider failed"
    return f"an unexpected error ({class_name})"
