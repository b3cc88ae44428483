"""Where the time goes: a stack sampler that splits wall time into Dagster, database and our code.

Every few milliseconds a thread looks at the main thread's stack. The innermost frame that
belongs to Dagster or to ivyi_pipeline says whose work it is; a leaf frame waiting on the
database driver (a statement, a connection) makes it database time. Sampling wall time
(not CPU time) counts the waits on PostgreSQL and pgbouncer, which a CPU profiler misses.
"""

import sys
import threading
import time
from collections import Counter
from types import FrameType

DAGSTER = ("/dagster/", "/dagster_postgres/", "/dagster_shared/", "/dagster_pipes/")
OURS = ("/ivyi_pipeline/",)
DB_LEAVES = (
    ("/sqlalchemy/engine/default.py", "do_execute"),
    ("/sqlalchemy/engine/default.py", "do_executemany"),
    ("/sqlalchemy/engine/default.py", "do_execute_no_params"),
    ("/sqlalchemy/engine/default.py", "connect"),
    ("/sqlalchemy/engine/default.py", "do_commit"),
    ("/sqlalchemy/engine/default.py", "do_rollback"),
    ("/sqlalchemy/engine/default.py", "do_begin"),
    ("/sqlalchemy/dialects/postgresql/psycopg2.py", ""),
    ("/sqlalchemy/pool/base.py", "_finalize_fairy"),
    ("/psycopg2/", ""),
)
CATEGORIES = (
    "dagster: python",
    "dagster: database",
    "ours: python",
    "ours: database",
    "other",
)


def _owner(frame: FrameType | None) -> str:
    while frame is not None:
        name = frame.f_code.co_filename
        if any(part in name for part in OURS):
            return "ours"
        if any(part in name for part in DAGSTER):
            return "dagster"
        frame = frame.f_back
    return "other"


def in_our_steps(frame: FrameType | None) -> bool:
    """True when the sample is inside our code that Dagster called (an op, a check, a
    sensor), Dagster's frames above it included: the Dagster calls our steps make (metadata
    values, record fetches) are then counted as ours, not as Dagster's bookkeeping."""
    ours_seen = False
    while frame is not None:
        name = frame.f_code.co_filename
        if any(part in name for part in OURS):
            ours_seen = True
        elif ours_seen and any(part in name for part in DAGSTER):
            return True
        frame = frame.f_back
    return False


def _is_database(frame: FrameType) -> bool:
    name, function = frame.f_code.co_filename, frame.f_code.co_name
    return any(path in name and fn in function for path, fn in DB_LEAVES)


def classify(frame: FrameType) -> str:
    """The category of a sample whose innermost frame is frame."""
    owner = _owner(frame)
    if owner == "other":
        return "other"
    return f"{owner}: {'database' if _is_database(frame) else 'python'}"


class StackSampler:
    """Samples the thread that starts it, every `interval` seconds, until stopped."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self.in_steps = 0  # samples inside our steps, the Dagster calls they make included
        self._target = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ivyi-bench-sampler", daemon=True)

    def __enter__(self) -> "StackSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            frame = sys._current_frames().get(self._target)
            if frame is not None:
                self.counts[classify(frame)] += 1
                self.in_steps += in_our_steps(frame)
            time.sleep(0)

    def shares(self) -> dict[str, float]:
        """Share of samples per category, in CATEGORIES order."""
        total = sum(self.counts.values()) or 1
        return {name: self.counts.get(name, 0) / total for name in CATEGORIES}

    def summary(self, seconds: float) -> str:
        """'dagster 55% (db 20%), ours 40% (db 25%), other 5%' with seconds for each."""
        s = self.shares()
        dagster = s["dagster: python"] + s["dagster: database"]
        ours = s["ours: python"] + s["ours: database"]
        return (
            f"Dagster bookkeeping {dagster:.0%} ({dagster * seconds:.1f} s, of which database "
            f"{s['dagster: database'] * seconds:.1f} s), our code {ours:.0%} "
            f"({ours * seconds:.1f} s, of which database {s['ours: database'] * seconds:.1f} s), "
            f"other {s['other']:.0%}; {sum(self.counts.values())} samples; inside our "
            f"steps, the Dagster calls they make included: {self.steps_share():.0%} "
            f"({self.steps_share() * seconds:.1f} s)"
        )

    def steps_share(self) -> float:
        """Share of samples inside our steps (ops, checks, sensors), with their Dagster calls."""
        return self.in_steps / (sum(self.counts.values()) or 1)
