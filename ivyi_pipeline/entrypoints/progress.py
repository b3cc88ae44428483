"""Progress of a long command on a terminal: one stderr line, rewritten in place.

On a terminal (stderr is a TTY) the line reads, for instance,
`tick: 1,200/4,410 processes done, 3 runs, 9.8 processes/s, about 5m 27s left, 2m 02s so far`;
the counts move when a run ends (a run covers up to 500 processes), the clock every second, so
a long run shows it is alive. The line is erased before the command prints anything else, so
the summary lines read as they always did. Anywhere else (a pipe, a file, a test) nothing is
written at all.
"""

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_SECONDS = 0.1
HEARTBEAT_SECONDS = 1.0
ERASE = "\r\x1b[K"


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


class Progress:
    """Counts of one command's work (processes due and done, runs), shown on a terminal."""

    def __init__(
        self,
        what: str,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.what = what
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.clock = clock
        self.started = clock()
        self.due = self.done = self.runs = 0
        self.stage = ""
        self._drawn_at: float | None = None
        self._shown = False
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def set_stage(self, stage: str) -> None:
        """Name what the command does now (a day of the demo, a phase of a load)."""
        self.stage = stage
        self.draw(force=True)

    def add_due(self, processes: int) -> None:
        """More processes are due (a sensor asked for their runs)."""
        self.due += processes
        self.draw()

    def run_finished(self, processes: int) -> None:
        """A run over `processes` processes ended."""
        self.done += processes
        self.runs += 1
        self.draw()

    def line(self) -> str:
        """The progress line as it reads now."""
        parts = [f"{self.what}:"]
        if self.stage:
            parts.append(f"{self.stage},")
        elapsed = max(self.clock() - self.started, 1e-9)
        if self.due or self.runs:
            runs = f"{self.runs:,} run" + ("" if self.runs == 1 else "s")
            parts.append(f"{self.done:,}/{self.due:,} processes done, {runs},")
            if self.done:
                rate = self.done / elapsed
                parts.append(f"{rate:.1f} processes/s,")
                if self.due > self.done:
                    parts.append(f"about {_duration((self.due - self.done) / rate)} left,")
        parts.append(f"{_duration(elapsed)} so far")
        return " ".join(parts)

    def draw(self, force: bool = False) -> None:
        """Rewrite the line (at most every REDRAW_SECONDS unless forced)."""
        if not self.enabled or self._stopped.is_set():
            return
        with self._lock:
            now = self.clock()
            if not force and self._drawn_at is not None and now - self._drawn_at < REDRAW_SECONDS:
                return
            width = max(shutil.get_terminal_size((100, 24)).columns - 1, 20)
            self.stream.write(ERASE + self.line()[:width])
            self.stream.flush()
            self._drawn_at, self._shown = now, True
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._beat, daemon=True)
                self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_SECONDS):
            self.draw(force=True)

    def clear(self) -> None:
        """Erase the line, so that what the command prints next starts on a clean one."""
        with self._lock:
            if self.enabled and self._shown:
                self.stream.write(ERASE)
                self.stream.flush()
                self._shown = False

    def echo(self, echo: Callable[[str], None]) -> Callable[[str], None]:
        """`echo`, erasing the progress line before it prints and drawing it again after."""

        def wrapped(message: str) -> None:
            with self._lock:
                self.clear()
                echo(message)
                self.draw(force=True)

        return wrapped

    def close(self) -> None:
        """Show the final counts once, then erase the line and stop the clock."""
        if self.enabled and self._shown:
            self.draw(force=True)
        self._stopped.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        self.clear()
