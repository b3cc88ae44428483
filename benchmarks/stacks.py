"""A running Python process sampled by py-spy, and its samples summed per function.

`recording(pid, path)` runs `py-spy record --format raw` on the process while its block runs
(the benchmarks use it on dagster-webserver while a case's pages are timed); `shares(path)`
reads the collapsed stacks back and gives each function's inclusive share of the samples,
so two cases' profiles can be compared function by function (`python -m benchmarks.stacks
A.txt B.txt`; gzipped files too). py-spy is a separate tool: `pip install py-spy`.
"""

import gzip
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RATE = 100  # samples a second
TOP = 40


def binary() -> str | None:
    """py-spy next to this Python, else on PATH; None when it is not installed."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def recording(pid: int, path: Path) -> Iterator[None]:
    """Sample every thread of `pid` into `path` (collapsed stacks) while the block runs."""
    spy = binary()
    if spy is None:
        raise SystemExit("error: py-spy is not installed: pip install py-spy")
    command = [spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw"]
    command += ["--output", str(path), "--nonblocking"]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        _, err = sampler.communicate(timeout=120)
        if not path.exists():
            print(f"py-spy wrote no profile: {err.decode().strip()[-300:]}", file=sys.stderr)


def _function(frame: str) -> str:
    """`resolve (dagster/_core/x.py:12)` -> `resolve (dagster/_core/x.py)`: lines merged."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def shares(path: Path) -> tuple[int, dict[str, float]]:
    """The samples of a raw py-spy profile that are not idle, and each function's share of
    them, counted once per stack it appears in (inclusive)."""
    counts: Counter[str] = Counter()
    total = 0
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        for function in {_function(frame) for frame in stack.split(";")}:
            counts[function] += n
    return total, {f: c / total for f, c in counts.most_common()} if total else {}


def compare(paths: list[Path], top: int = TOP) -> str:
    """Markdown: the functions with the most samples in any profile, each profile's share and
    its samples (samples are at RATE a second, so they compare as time across profiles)."""
    profiles = [shares(path) for path in paths]
    ranked: Counter[str] = Counter()
    for total, share in profiles:
        for function, s in share.items():
            ranked[function] = max(ranked[function], s * total)
    names = [path.name.split(".")[0] for path in paths]
    head = ["function"]
    head += [f"{n} ({t:,} samples)" for n, (t, _) in zip(names, profiles, strict=True)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for function, _ in ranked.most_common(top):
        cells = [
            f"{100 * share.get(function, 0):.0f}% ({round(share.get(function, 0) * total):,})"
            for total, share in profiles
        ]
        lines.append("| " + " | ".join([f"`{function}`", *cells]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    usage = "usage: python -m benchmarks.stacks PROFILE.txt[.gz] [PROFILE.txt[.gz] ...]"
    paths = [Path(arg) for arg in sys.argv[1:]]
    if not paths or any(arg.startswith("-") for arg in sys.argv[1:]):
        raise SystemExit(usage + "\n" + __doc__)
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise SystemExit(f"error: no profile at {', '.join(missing)}; {usage}")
    print(compare(paths))
