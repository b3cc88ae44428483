"""The analyst's pages in a real browser, with N processes driven through the real pipeline.

`python -m benchmarks.ui_partitions --cases 10000,80000,10000+50000` builds, for each case and
for a baseline case of 100 live processes measured in the same run, one instance the way
production gets there, and times its pages in Chromium:

1. A throwaway PostgreSQL database for the domain and one for Dagster's storage, Dagster through
   pgbouncer in transaction mode with the production event settings
   (`benchmarks.harness.environment`). The project's synthetic data (`benchmarks.seeding`) holds
   one occasion per process; about 1% of the live processes' relationships get a one-cent
   budget that no gift fits, so those processes are blocked and fail `options_not_empty`.
2. `L+K` (K retired processes beside L live ones): the K occur two days after the first tick,
   so their decision window is closed when it opens; ticks of every gifting sensor twice a day
   (`local_runs.tick`, what `ivyi tick --as-of` runs: ranged runs of 500) default, order, ship
   and deliver them to COMPLETED; then the real `dagster_retention_job` (partition retention
   0 days, runs kept) retires their partitions and forgets their check rows.
3. The L live processes occur `lead_days` after the day they are detected: one tick detects
   them, generates, ranks and opens their windows (DECISION_WINDOW_OPEN, or blocked), each with
   its real materializations, metadata (every rule's verdict) and failing check results. Then
   both databases get what production's autovacuum would give them (`VACUUM ANALYZE`; this
   machine runs with autovacuum off) and a `CHECKPOINT`, so the build's aftermath is not
   timed with the pages.
4. The real `dagster-webserver -m ivyi_pipeline.definitions` on that instance, and each analyst
   page opened in headless Chromium (Playwright), 3 trials each in a fresh browser context:
   every /graphql request from navigation until the network has been quiet for 2 s is timed
   from request to response end; a page's figure is its slowest response (and which query it
   was) and its GraphQL bytes; the table gives medians and the ratio to the baseline.

Not part of the test suite (`--cases 0+0` is not allowed; the smallest useful run is
`--baseline 20 --cases 50 --repeats 1`). JSON goes to benchmarks/results/ui_partitions.json,
rewritten after each case so that a long run that dies keeps what it measured.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import dagster as dg
import numpy as np
import sqlalchemy as sa

from benchmarks import stacks
from benchmarks.harness import (
    INSTANCE_YAML,
    Env,
    Stopwatch,
    environment,
    settle,
    throwaway_database,
)
from benchmarks.seeding import AS_OF, seed
from benchmarks.throughput import pipeline_definitions
from benchmarks.webserver import dagster_webserver, post_graphql
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.db.schema import gift_processes, occasions, relationships
from ivyi_pipeline.entrypoints.local_runs import QUIET_CONSOLE, tick
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.orchestration.jobs import dagster_retention_job
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.resources import GiftingSettings
from ivyi_pipeline.orchestration.sensors import gifting_sensors

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "ui_partitions.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BATCH_SIZE = 500  # ranged runs of 500, as `ivyi tick` runs them
BLOCKED_EVERY = 100  # one live process's relationship in 100 gets a budget no gift fits
BLOCKED_BUDGET_CENTS = 1
RETIRED_OFFSET_DAYS = 2  # the window of a process detected 2 days before it occurs is closed
LIVE_DAY_AFTER_RETIRED = 8  # the day the live ones are detected when some are retired first
TICK_HOURS = (6, 18)
RETENTION_HOUR = 3
STARTUP_SECONDS = 900
PAGE_TIMEOUT_MS = 300_000
QUIET_SECONDS = 2.0  # the page is done when no GraphQL request was open for this long
PAGE_CAP_SECONDS = 240.0
LOCATION = """{ repositoriesOrError { ... on RepositoryConnection {
  nodes { name location { name } } } } }"""


@dataclass(frozen=True)
class Case:
    """L live processes, beside K that completed and were retired before."""

    live: int
    retired: int = 0

    @property
    def label(self) -> str:
        return f"{self.live:,}" + (f" + {self.retired:,} retired" if self.retired else "")

    @classmethod
    def parse(cls, text: str) -> "Case":
        live, _, retired = text.partition("+")
        case = cls(int(live.replace("_", "")), int(retired.replace("_", "") or 0))
        if case.live < 1 or case.retired < 0:
            raise ValueError(text)
        return case


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _at(day: int, hour: int) -> datetime:
    return AS_OF.replace(hour=hour) + timedelta(days=day)


def _statuses(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            sa.select(gift_processes.c.status, sa.func.count()).group_by(gift_processes.c.status)
        )
        return {str(status): count for status, count in rows}


def _block_some(url: str, live_month_day: int) -> int:
    """Give one in BLOCKED_EVERY relationships of the live occasions a one-cent budget."""
    engine = get_engine(url)
    with engine.begin() as conn:
        live = conn.execute(
            sa.select(occasions.c.relationship_id)
            .where(occasions.c.month_day == live_month_day)
            .distinct()
        ).scalars()
        chosen = sorted(live)[::BLOCKED_EVERY]
        for chunk in chunks(chosen):
            conn.execute(
                relationships.update()
                .where(relationships.c.id.in_(chunk))
                .values(budget_cents=BLOCKED_BUDGET_CENTS)
            )
    return len(chosen)


def _vacuum_analyze(*urls: str) -> None:
    """What production's autovacuum does after a build (this machine runs with it off): the
    statistics, and the dead rows of what retention deleted (50,000 retired processes leave
    their partition rows, asset events and check rows dead; a page would scan them)."""
    for url in urls:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        finally:
            engine.dispose()


def _dagster_rows(url: str) -> dict[str, int]:
    """Row counts of the Dagster tables the pages read (a measurement, not pipeline code)."""
    engine = sa.create_engine(url)
    counts = {}
    try:
        with engine.connect() as conn:
            for table in ("runs", "event_logs", "asset_check_executions", "dynamic_partitions"):
                counts[table] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
            counts["failed_check_rows"] = conn.execute(
                sa.text(
                    "SELECT count(*) FROM asset_check_executions "
                    "WHERE execution_status = 'FAILED' AND partition IS NOT NULL"
                )
            ).scalar()
    finally:
        engine.dispose()
    return counts


def _failing_key(url: str) -> str | None:
    """A live partition with a failing check result (a blocked process's), if any."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT partition FROM asset_check_executions WHERE execution_status = "
                    "'FAILED' AND partition IS NOT NULL ORDER BY partition LIMIT 1"
                )
            ).scalar()
    finally:
        engine.dispose()


def _retire(instance: dg.DagsterInstance, defs: dg.Definitions, at: datetime) -> int:
    """The real retention job as of `at`: completed processes' partitions retired at once."""
    name = gift_processes_partitions.name
    before = len(instance.get_dynamic_partitions(name))
    job = dg.Definitions(jobs=[dagster_retention_job], resources=defs.resources).resolve_job_def(
        dagster_retention_job.name
    )
    result = job.execute_in_process(
        instance=instance,
        tags={tags.AS_OF: at.isoformat()},
        run_config={
            **QUIET_CONSOLE,
            "ops": {"retire_completed_partitions": {"config": {"partition_retention_days": 0}}},
        },
        raise_on_error=False,
    )
    if not result.success:
        raise RuntimeError(f"the retention job failed (run {result.run_id})")
    return before - len(instance.get_dynamic_partitions(name))


def _say(text: str) -> None:
    print(f"   {time.strftime('%H:%M:%S')} {text} (load {_load()})", file=sys.stderr, flush=True)


@contextmanager
def built_instance(env: Env, case: Case, workdir: Path) -> Iterator[dict]:
    """Both databases for `case`, driven through the pipeline; yields where they are and what
    it took. Dropped on exit."""
    lead = GiftingSettings().lead_days
    live_day = LIVE_DAY_AFTER_RETIRED if case.retired else 0
    with ExitStack() as stack:
        domain_url = stack.enter_context(throwaway_database(env, "ivyi_bench_ui"))
        dagster_url = stack.enter_context(
            throwaway_database(env, "ivyi_bench_ui_dagster", migrate=False)
        )
        home = workdir / f"dagster_home_{case.live}_{case.retired}"
        home.mkdir()
        (home / "dagster.yaml").write_text(
            INSTANCE_YAML.format(url=env.dagster_url(dagster_url), dequeue_interval=1, home=home)
        )
        built: dict = {"case": case.label, "live": case.live, "retired": case.retired}
        offsets = np.concatenate(
            [
                np.full(case.retired, RETIRED_OFFSET_DAYS),
                np.full(case.live, lead + live_day),
            ]
        )
        with Stopwatch() as watch:
            seed(domain_url, offsets)
        built["seed_seconds"] = round(watch.seconds, 1)
        _say(f"{case.label}: seeded in {watch.seconds:.0f} s")
        defs = pipeline_definitions(domain_url, BATCH_SIZE, sensors=gifting_sensors)
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            runs = failed = 0
            if case.retired:
                with Stopwatch() as watch:
                    for day in range(live_day):
                        for hour in TICK_HOURS:
                            summary = tick(instance, defs, _at(day, hour))
                            runs += len(summary.succeeded) + len(summary.failed)
                            failed += len(summary.failed)
                        statuses = _statuses(domain_url)
                        _say(f"{case.label}: day {day}: {statuses}, {runs} runs")
                        if statuses.get("COMPLETED", 0) >= case.retired:
                            break
                built["retired_drive_seconds"] = round(watch.seconds, 1)
                built["completed_before_retention"] = _statuses(domain_url).get("COMPLETED", 0)
                with Stopwatch() as watch:
                    built["partitions_retired"] = _retire(
                        instance, defs, _at(live_day, RETENTION_HOUR)
                    )
                built["retention_seconds"] = round(watch.seconds, 1)
                _say(f"{case.label}: retired {built['partitions_retired']} partitions")
            # Blocked only now: the retired ones, done, may share a relationship with them.
            live_date = (AS_OF + timedelta(days=lead + live_day)).date()
            built["blocked_relationships"] = _block_some(
                domain_url, live_date.month * 100 + live_date.day
            )
            with Stopwatch() as watch:
                summary = tick(instance, defs, _at(live_day, TICK_HOURS[0]))
            runs += len(summary.succeeded) + len(summary.failed)
            failed += len(summary.failed)
            built["live_tick_seconds"] = round(watch.seconds, 1)
            built["live_tick_ms_per_process"] = round(1000 * watch.seconds / case.live, 2)
            built["runs"], built["failed_runs"] = runs, failed
            built["statuses"] = _statuses(domain_url)
            live_keys = sorted(instance.get_dynamic_partitions(gift_processes_partitions.name))
            built["live_partitions"] = len(live_keys)
            _say(f"{case.label}: live tick {watch.seconds:.0f} s, {built['statuses']}")
        finally:
            instance.dispose()
        with Stopwatch() as watch:
            _vacuum_analyze(domain_url, dagster_url)
            settle(env)  # the build's writes checkpointed now, not while the pages are timed
        built["vacuum_analyze_seconds"] = round(watch.seconds, 1)
        built["dagster_rows"] = _dagster_rows(dagster_url)
        failing = _failing_key(dagster_url)
        if failing is None:  # no blocked process (a tiny case): the middle live one
            failing = live_keys[len(live_keys) // 2]
        built["partition_page_key"] = failing
        yield {"home": home, "domain_url": domain_url, "built": built}


# --- the pages ---


def pages(location: str, key: str) -> list[tuple[str, str, str]]:
    """(name, path, a text the page must show) of each analyst page."""
    partition = urllib.parse.quote(key)
    return [
        ("gift_options", "/assets/gift_options", "gift_options"),
        ("gift_options, Checks", "/assets/gift_options?view=checks", "options_not_empty"),
        ("ranked_decisions", "/assets/ranked_decisions", "ranked_decisions"),
        ("ranked_decisions, Checks", "/assets/ranked_decisions?view=checks", "ranks_without_gaps"),
        ("gift_process_state", "/assets/gift_process_state", "gift_process_state"),
        (
            "gift_process_state, Checks",
            "/assets/gift_process_state?view=checks",
            "selected_gift_is_ranked",
        ),
        (
            "one partition",
            f"/assets/gift_process_state?view=partitions&partition={partition}",
            key.split(".", 1)[-1],
        ),
        ("gifting lineage", f"/locations/{location}/asset-groups/gifting", "ranked_decisions"),
        ("runs list", "/runs", "gifting_process_job"),
    ]


class GraphqlTimings:
    """Every /graphql request of a page: its operation, seconds to response end, bytes."""

    def __init__(self, page):
        self.started: dict[int, float] = {}
        self.done: list[dict] = []
        self.failed: list[str] = []
        self.last_activity = time.perf_counter()
        page.on("request", self._request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)

    @staticmethod
    def _is_graphql(request) -> bool:
        return "/graphql" in request.url

    def _request(self, request) -> None:
        if self._is_graphql(request):
            self.started[id(request)] = time.perf_counter()
            self.last_activity = time.perf_counter()

    def _operation(self, request) -> str:
        try:
            return (request.post_data_json or {}).get("operationName") or "?"
        except Exception:  # noqa: BLE001 - a body that is not JSON
            return "?"

    def _finished(self, request) -> None:
        if not self._is_graphql(request):
            return
        now = time.perf_counter()
        seen = now - self.started.pop(id(request), now)
        timing = request.timing
        end = timing.get("responseEnd", -1)
        seconds = end / 1000 if end and end > 0 else seen
        try:
            size = request.sizes()["responseBodySize"]
        except Exception:  # noqa: BLE001 - a request the page dropped has no sizes
            size = 0
        self.done.append({"operation": self._operation(request), "s": seconds, "bytes": size})
        self.last_activity = now

    def _failed(self, request) -> None:
        if self._is_graphql(request):
            self.started.pop(id(request), None)
            self.failed.append(f"{self._operation(request)}: {request.failure}")
            self.last_activity = time.perf_counter()

    def quiet(self) -> bool:
        return not self.started and time.perf_counter() - self.last_activity >= QUIET_SECONDS


def measure_page(browser, base: str, path: str, expect: str) -> dict:
    """One visit in a fresh context: the slowest GraphQL response until the network is quiet."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        timings = GraphqlTimings(page)
        started = time.perf_counter()
        page.goto(base + path, wait_until="commit")
        capped = False
        while not (timings.done and timings.quiet()):
            if time.perf_counter() - started > PAGE_CAP_SECONDS:
                capped = True
                break
            page.wait_for_timeout(200)
        skip = page.get_by_role("button", name="Skip")
        if skip.count():
            skip.first.click()
        shown = expect in page.inner_text("body")
        slowest = max(timings.done, key=lambda d: d["s"]) if timings.done else None
        return {
            "slowest_s": round(slowest["s"], 3) if slowest else None,
            "slowest_operation": slowest["operation"] if slowest else None,
            "graphql_bytes": sum(d["bytes"] for d in timings.done),
            "requests": len(timings.done),
            "failed": timings.failed,
            "open_at_end": len(timings.started),
            "capped": capped,
            "shows_expected_text": shown,
            "by_operation": sorted(
                ((d["operation"], round(d["s"], 3)) for d in timings.done), key=lambda x: -x[1]
            )[:6],
        }
    finally:
        context.close()


def measure_pages(browser, base: str, location: str, key: str, repeats: int) -> dict:
    """Every page, `repeats` trials (pages in turn, so the load's drift spreads over all)."""
    trials: dict[str, list[dict]] = {}
    for _ in range(repeats):
        for name, path, expect in pages(location, key):
            trials.setdefault(name, []).append(measure_page(browser, base, path, expect))
    summary = {}
    for name, runs in trials.items():
        slowest = [r["slowest_s"] for r in runs if r["slowest_s"] is not None]
        median = statistics.median(slowest) if slowest else None
        nearest = min(runs, key=lambda r: abs((r["slowest_s"] or 0) - (median or 0)))
        summary[name] = {
            "median_slowest_s": median,
            "slowest_operation": nearest["slowest_operation"],
            "median_graphql_bytes": statistics.median(r["graphql_bytes"] for r in runs),
            "trials": runs,
        }
    return summary


@contextmanager
def webserver(
    home: Path, domain_url: str, workdir: Path, on_start=None
) -> Iterator[tuple[str, float]]:
    """dagster-webserver -m ivyi_pipeline.definitions on the instance; stopped after."""
    ivyi_home = workdir / f"ivyi_home_{home.name}"
    ivyi_home.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "IVYI_HOME": str(ivyi_home),
        "IVYI_DATABASE_URL": domain_url,
    }
    log = workdir / f"webserver_{home.name}.log"
    target = ["-m", "ivyi_pipeline.definitions"]
    with dagster_webserver(target, env, log, STARTUP_SECONDS, REPO, on_start) as (base, startup):
        yield base, round(startup, 1)


def _location(base: str) -> str:
    (node,) = post_graphql(base, LOCATION)["data"]["repositoriesOrError"]["nodes"]
    return f"{node['name']}@{node['location']['name']}"


def measure(
    browser, env: Env, case: Case, repeats: int, workdir: Path, profiles: Path | None = None
) -> dict:
    """Build one case's instance, then time its pages; with `profiles`, py-spy samples the
    webserver while they are timed, into `profiles/<case>.txt` (`benchmarks.stacks`)."""
    load_before = _load()
    pids: list[int] = []
    with built_instance(env, case, workdir) as made:
        built = made["built"]
        load_pages = _load()
        with webserver(made["home"], made["domain_url"], workdir, pids.append) as (base, up):
            location = _location(base)
            _say(f"{case.label}: webserver up in {up:.0f} s; timing the pages")
            with ExitStack() as sampling:
                if profiles:
                    profiles.mkdir(parents=True, exist_ok=True)
                    path = profiles / f"{case.live}_plus_{case.retired}.txt"
                    sampling.enter_context(stacks.recording(pids[0], path))
                timed = measure_pages(browser, base, location, built["partition_page_key"], repeats)
    return {
        **built,
        "webserver_startup_seconds": up,
        "pages": timed,
        "load_1m": {"before_build": load_before, "before_pages": load_pages, "after": _load()},
    }


# --- the report ---


def table(results: list[dict]) -> str:
    """Markdown: a row a page, a column a case, the median slowest response (ratio)."""
    baseline = results[0]
    head = ["page", *(r["case"] + (" (baseline)" if i == 0 else "") for i, r in enumerate(results))]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in baseline["pages"]:
        base = baseline["pages"][name]["median_slowest_s"]
        cells = [name]
        for result in results:
            page = result["pages"].get(name, {})
            value = page.get("median_slowest_s")
            if value is None:
                cells.append("-")
                continue
            ratio = f" ({value / base:.2f}x)" if base and result is not baseline else ""
            kb = page["median_graphql_bytes"] / 1000
            cells.append(f"{value:.2f} s{ratio}, {kb:,.0f} kB, {page['slowest_operation']}")
        lines.append("| " + " | ".join(cells) + " |")
    loads = [f"{r['load_1m']['before_pages']}-{r['load_1m']['after']}" for r in results]
    lines.append("| load 1m (pages) | " + " | ".join(loads) + " |")
    return "\n".join(lines)


def combined_table(reports: list[dict]) -> str:
    """Markdown over several runs' JSON: each case's median slowest response with its ratio to
    its own run's baseline, and for L+K its ratio to L alone in the same run."""
    columns = []
    for report in reports:
        results = report["results"]
        alone = {r["live"]: r for r in results if not r["retired"]}
        for index, result in enumerate(results):
            if index == 0 and columns:
                continue  # one baseline column is enough; the ratios use each run's own
            against = alone.get(result["live"]) if result["retired"] else None
            columns.append((result, results[0] if index else None, against))
    head = ["page"] + [r["case"] for r, _, _ in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in columns[0][0]["pages"]:
        cells = [name]
        for result, baseline, against in columns:
            value = result["pages"][name]["median_slowest_s"]
            text = f"{value:.2f} s"
            if baseline:
                text += f" ({value / baseline['pages'][name]['median_slowest_s']:.2f}x"
                if against:
                    text += f"; {value / against['pages'][name]['median_slowest_s']:.2f}x alone"
                text += ")"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    loads = [f"{r['load_1m']['before_pages']}-{r['load_1m']['after']}" for r, _, _ in columns]
    lines.append("| load 1m (pages) | " + " | ".join(loads) + " |")
    return "\n".join(lines)


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ui_partitions", description=__doc__)
    parser.add_argument(
        "--cases",
        default="10000,80000,10000+50000",
        help="comma-separated cases: L live processes, or L+K with K retired beside them",
    )
    parser.add_argument("--baseline", type=int, default=100, help="live processes, no retired")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the webserver with py-spy while each case's pages are timed, into "
        "DIR/<case>.txt; compare them with `python -m benchmarks.stacks`",
    )
    parser.add_argument(
        "--report", type=Path, nargs="+", help="print one table over these runs' JSON and stop"
    )
    args = parser.parse_args(argv)
    if args.report:
        print(combined_table([json.loads(path.read_text()) for path in args.report]))
        return 0
    try:
        cases = [Case.parse(text) for text in args.cases.split(",")]
        baseline = Case(args.baseline)
    except ValueError:
        print(
            f"error: --cases {args.cases!r} is not a list of L or L+K counts (L >= 1), "
            "e.g. 10000,10000+50000",
            file=sys.stderr,
        )
        return 2
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    report = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": _commit(),
        "command": " ".join(["python -m benchmarks.ui_partitions", *(argv or sys.argv[1:])]),
        "dagster": version("dagster"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "uptime_before": _uptime(),
        "results": [],
    }
    with (
        tempfile.TemporaryDirectory(prefix="ivyi-ui-pages-") as tmp,
        environment() as env,
        sync_playwright() as playwright,
    ):
        report["storage"] = env.storage_label
        report["events"] = env.events_label
        report["notes"] = env.notes
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for case in [baseline, *cases]:
                report["results"].append(
                    measure(browser, env, case, args.repeats, Path(tmp), args.py_spy)
                )
                report["uptime_after"] = _uptime()
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(report, indent=2) + "\n")
                _say(f"{case.label}: done")
        finally:
            browser.close()
    print(table(report["results"]))
    print(f"uptime before: {report['uptime_before']}\nuptime after:  {report['uptime_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
