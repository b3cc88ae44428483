"""The data's clock: the last instant the data was ticked at, which may be ahead of the wall.

`ivyi tick --as-of` records each tick's instant in `pipeline_state` (`local_runs/last_tick_as_of`;
a tick earlier than it is refused). Simulations tick ahead of the wall clock, so whatever
defaults to "now" on that data (the funnel materialized from the UI, the occasion-date
calendar of `ivyi ui`) takes the later of the two: the data's clock.
"""

from datetime import datetime

import sqlalchemy as sa

from ivyi_pipeline.clock import parse_instant, utcnow
from ivyi_pipeline.db.pipeline_state import read_state

LAST_TICK_AS_OF = "local_runs/last_tick_as_of"


def last_tick_as_of(engine: sa.Engine) -> datetime | None:
    """The instant of the last `ivyi tick`, or None when nothing was ticked (or unreadable)."""
    text = read_state(engine, LAST_TICK_AS_OF)
    return parse_instant(text) if text else None


def data_now(engine: sa.Engine, wall: datetime | None = None) -> datetime:
    """The later of the wall clock and the last tick's instant."""
    wall = wall or utcnow()
    last = last_tick_as_of(engine)
    return max(wall, last) if last else wall
