"""`ivyi clock show` / `ivyi clock reset`: read, and move back, the clock the ticks recorded.

`ivyi tick` refuses an --as-of earlier than the last tick's, so one tick with a wrong clock
(a typo within the horizon, a simulation run on the real database) would otherwise refuse
every real tick until the wall clock caught up. A reset moves the recorded last-tick instant
back and forgets the detection sensor's cursor (it holds the wrong tick's lead window; the
next tick rebuilds it from the domain data). It changes no process history: processes the
wrong tick created or moved keep their rows, transitions and orders; they are reported, and
they stay as they are while ticks run before their last change (`transition_many` never
moves a process last changed after the tick's instant).
"""

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ivyi_pipeline.clock import from_db, parse_instant, to_db, utcnow
from ivyi_pipeline.db.locks import driver_lock
from ivyi_pipeline.db.pipeline_state import forget_state, read_state, write_state
from ivyi_pipeline.db.schema import gift_processes
from ivyi_pipeline.entrypoints.local_runs import CURSOR, LAST_TICK_AS_OF

TIMED_CURSORS = (CURSOR.format("occasion_detection_sensor"),)
"""Sensor cursors that hold an instant (the detection sensor's lead window and 'seen')."""
LAST_RESET = "local_runs/last_clock_reset"
SHOWN = 20


@dataclass
class ClockState:
    """The recorded clock, and the processes whose history lies after an instant."""

    last_tick_as_of: datetime | None
    wall_clock: datetime
    after: datetime
    later_processes: int = 0
    latest_change: datetime | None = None
    later_ids: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What `ivyi clock show` prints."""
        last = self.last_tick_as_of.isoformat() if self.last_tick_as_of else "none recorded"
        lines = [
            f"last tick as of: {last}",
            f"wall clock:      {self.wall_clock.isoformat(timespec='seconds')}",
        ]
        if self.later_processes:
            lines.append(
                f"{self.later_processes} process(es) last changed after "
                f"{self.after:%Y-%m-%d %H:%M}Z (latest {self.latest_change:%Y-%m-%d %H:%M}Z); "
                "ticks before that instant leave them as they are:"
            )
            lines += [f"  {pid}" for pid in self.later_ids]
            if self.later_processes > len(self.later_ids):
                lines.append(f"  ... and {self.later_processes - len(self.later_ids)} more")
        return lines


def _later_than(conn: sa.Connection, instant: datetime) -> tuple[int, datetime | None, list[str]]:
    gp = gift_processes
    later = gp.c.updated_at > to_db(instant)
    count, latest = conn.execute(
        sa.select(sa.func.count(), sa.func.max(gp.c.updated_at)).where(later)
    ).one()
    ids = conn.execute(
        sa.select(gp.c.id).where(later).order_by(gp.c.updated_at.desc(), gp.c.id).limit(SHOWN)
    ).scalars()
    return int(count), from_db(latest), list(ids)


def clock_state(engine: sa.Engine, after: datetime | None = None) -> ClockState:
    """The recorded last tick and the processes changed after `after` (default: the wall)."""
    now = utcnow()
    recorded = read_state(engine, LAST_TICK_AS_OF)
    state = ClockState(recorded and parse_instant(recorded), now, after or now)
    with engine.connect() as conn:
        state.later_processes, state.latest_change, state.later_ids = _later_than(conn, state.after)
    return state


@dataclass(frozen=True)
class ResetOutcome:
    """What a reset did: the instants before and after, and what it left as it was."""

    moved_from: datetime | None
    to: datetime
    changed: bool
    state: ClockState


def reset_clock(engine: sa.Engine, to: datetime) -> ResetOutcome:
    """Record `to` as the last tick's instant when it is earlier; refuse while a command runs.

    One transaction writes the new instant, drops the timed cursors and records the reset
    (`local_runs/last_clock_reset`: from, to, wall clock). Repeating it changes nothing.
    """
    with driver_lock(engine, wait=False):
        recorded = read_state(engine, LAST_TICK_AS_OF)
        last = parse_instant(recorded) if recorded else None
        changed = last is not None and to < last
        if changed:
            audit = {"from": recorded, "to": to.isoformat(), "at": utcnow().isoformat()}
            with engine.begin() as conn:
                write_state(conn, LAST_TICK_AS_OF, to.isoformat())
                forget_state(conn, TIMED_CURSORS)
                write_state(conn, LAST_RESET, json.dumps(audit))
    return ResetOutcome(last, to, changed, clock_state(engine, after=to))


__all__ = ["ClockState", "ResetOutcome", "clock_state", "reset_clock"]
