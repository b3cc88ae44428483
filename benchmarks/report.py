"""One row per figure: its value, target, baseline measured in the same run, and their ratio."""

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from tabulate import tabulate


@dataclass
class Row:
    """A measured figure next to its target and its same-run baseline."""

    scenario: str
    figure: str
    value: float
    unit: str
    target: str = ""
    baseline_label: str = ""
    baseline: float | None = None
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """value / baseline, when both are numbers."""
        if self.baseline is None or not self.baseline or _nan(self.value):
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict:
        """The row for JSON output, ratio included."""
        return asdict(self) | {"ratio": self.ratio}


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def within(limit: float) -> Callable[[float], bool]:
    """A check that a figure is at most limit."""
    return lambda value: value <= limit


def unavailable(scenario: str, figure: str, why: str) -> Row:
    """A row for a figure that could not be measured in this run."""
    return Row(scenario, figure, float("nan"), "", notes=[why])


def _fmt(value: float | None, unit: str = "") -> str:
    if _nan(value):
        return "n/a"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def table(rows: Sequence[Row]) -> str:
    """The rows as one plain-text table."""
    body = [
        [
            row.scenario,
            row.figure,
            _fmt(row.value, row.unit),
            row.target,
            f"{_fmt(row.baseline, row.unit)} ({row.baseline_label})" if row.baseline_label else "",
            _fmt(row.ratio) + ("x" if row.ratio is not None else ""),
            {True: "yes", False: "NO", None: ""}[row.met],
        ]
        for row in rows
    ]
    headers = ["scenario", "figure", "value", "target", "baseline (same run)", "ratio", "met"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def notes(rows: Sequence[Row]) -> str:
    """Every row's notes, under its scenario and figure."""
    lines = []
    for row in rows:
        for note in row.notes:
            lines.append(f"- [{row.scenario}] {row.figure}: {note}")
    return "\n".join(lines)
