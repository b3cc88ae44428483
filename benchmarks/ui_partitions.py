"""The Partitions view of `gift_process_state` in a real browser, at N live partitions.

`python -m benchmarks.ui_partitions --partitions 10000,80000` measures, for each N and for a
baseline instance of 100 partitions in the same run: the seconds to add N `gift_processes`
keys in one `add_dynamic_partitions` call, then, in Debian's Chromium (headless, Playwright),
(a) from navigation to `/assets/gift_process_state?view=partitions` until the partition list
shows its first rows, (b) from navigation to one partition's URL until its materialization
shows, (c) from a click on the list's first row until that partition's content shows, and
(d) from typing one occasion id into the list's search box until its row is the only one.
Each is repeated (3 times by default) in a fresh browser context; the table gives medians,
their ratio to the baseline and the 1-minute load. It also counts the GraphQL traffic of (a)
to show whether the list fetches every key.

Each N gets a throwaway DAGSTER_HOME with Dagster's default SQLite storage, or with
`--storage postgres` a throwaway PostgreSQL database (and an empty IVYI_HOME: the webserver
only loads the definitions, no sensor or daemon runs). Keys are the
project's (`2027-03-01.occ-000001`): 10,000 occasions a day, dates ascending, as the steady
state of 10,000 processes a day with the retention job. A handful of partitions (the first
and last five, and the middle one) get a runless materialization with a few metadata
entries, so the pages have content to show. Not part of the test suite.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path

import dagster as dg

from ivyi_pipeline.domain.partition_keys import partition_key
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline_tests.webserver import dagster_webserver

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "ui_partitions.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ASSET = "gift_process_state"
FIRST_DAY = date(2027, 3, 1)
PER_DAY = 10_000
MARKER = "ui_partitions benchmark row"
STARTUP_SECONDS = 600
PAGE_TIMEOUT_MS = 300_000
# A list row names its key in a tooltip; keys start with their date.
ROW = '[data-tooltip^="20"]'


def keys_of(count: int) -> list[str]:
    """`count` process keys, 10,000 a day from FIRST_DAY, sorted as text and by date."""
    return [
        partition_key(FIRST_DAY + timedelta(days=i // PER_DAY), f"occ-{i:06d}")
        for i in range(count)
    ]


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def instance_yaml(postgres_url: str | None) -> str:
    """Dagster's default SQLite storage in DAGSTER_HOME, or PostgreSQL at `postgres_url`."""
    storage = f'storage:\n  postgres:\n    postgres_url: "{postgres_url}"\n' if postgres_url else ""
    return storage + "telemetry:\n  enabled: false\n"


def make_instance(home: Path, count: int, postgres_url: str | None) -> dict:
    """A Dagster instance in `home` with `count` keys, a few of them materialized."""
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(instance_yaml(postgres_url))
    keys = keys_of(count)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        started = time.perf_counter()
        instance.add_dynamic_partitions(gift_processes_partitions.name, keys)
        add_seconds = time.perf_counter() - started
        stored = len(instance.get_dynamic_partitions(gift_processes_partitions.name))
        materialized = sorted({*keys[:5], *keys[-5:], keys[count // 2]})
        for key in materialized:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key=ASSET,
                    partition=key,
                    metadata={"status": "DECISION_WINDOW_OPEN", "note": MARKER},
                )
            )
    assert stored == count, f"{stored} partitions stored, {count} added"
    return {"add_seconds": round(add_seconds, 3), "keys": keys, "materialized": materialized}


@contextmanager
def webserver(dagster_home: Path, ivyi_home: Path, log: Path):
    """dagster-webserver -m ivyi_pipeline.definitions on a free loopback port; stopped after."""
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "IVYI_HOME": str(ivyi_home)}
    env.pop("IVYI_DATABASE_URL", None)
    target = ["-m", "ivyi_pipeline.definitions"]
    with dagster_webserver(target, env, log, STARTUP_SECONDS, REPO) as (base, startup):
        yield base, round(startup, 1)


def _skip_community_dialog(page) -> None:
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()


class GraphqlTraffic:
    """The GraphQL operations a page sent, with their response sizes."""

    def __init__(self, page):
        self.operations: list[dict] = []
        page.on("requestfinished", self._record)

    def _record(self, request) -> None:
        if "/graphql" not in request.url:
            return
        try:
            name = (request.post_data_json or {}).get("operationName")
            size = request.sizes()["responseBodySize"]
        except Exception:  # noqa: BLE001 - a request the page dropped has no sizes
            return
        self.operations.append({"operation": name, "bytes": size})

    def summary(self) -> dict:
        by_operation: dict[str, int] = {}
        for operation in self.operations:
            name = operation["operation"] or "?"
            by_operation[name] = by_operation.get(name, 0) + operation["bytes"]
        return {
            "requests": len(self.operations),
            "bytes": sum(by_operation.values()),
            "bytes_by_operation": dict(sorted(by_operation.items(), key=lambda kv: -kv[1])),
        }


def measure_list(browser, base: str, count: int, target: str) -> dict:
    """(a): navigation to the Partitions tab until its list shows rows."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        traffic = GraphqlTraffic(page)
        started = time.perf_counter()
        page.goto(f"{base}/assets/{ASSET}?view=partitions", wait_until="commit")
        page.locator(ROW).first.wait_for()
        seconds = time.perf_counter() - started
        _skip_community_dialog(page)
        page.wait_for_load_state("networkidle")
        rows = page.locator(ROW).evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('data-tooltip'))"
        )
        first = rows[0]
        count_shown = f"{count:,}" in page.inner_text("body")
        # (c): a click on the first row until that partition's materialization shows.
        started = time.perf_counter()
        page.locator(f'[data-tooltip="{first}"]').first.click()
        page.get_by_text(MARKER).first.wait_for()
        click_seconds = time.perf_counter() - started
        # (d): typing the target's occasion id into the search box until its row shows.
        occasion = target.split(".", 1)[1]
        started = time.perf_counter()
        page.get_by_placeholder("Filter by name…").fill(occasion)
        page.locator(f'[data-tooltip="{target}"]').first.wait_for()
        search_seconds = time.perf_counter() - started
        found = set(
            page.locator(ROW).evaluate_all(
                "nodes => nodes.map(n => n.getAttribute('data-tooltip'))"
            )
        )
        # The detail panel still names the first row's key, the one selected.
        assert target in found <= {target, first}, f"{occasion} lists {sorted(found)[:5]}"
        return {
            "search_seconds": round(search_seconds, 3),
            "list_seconds": round(seconds, 3),
            "click_seconds": round(click_seconds, 3),
            "rows_rendered": len(set(rows)),
            "first_row": first,
            "count_shown": count_shown,
            "graphql": traffic.summary(),
        }
    finally:
        context.close()


def measure_partition_page(browser, base: str, key: str) -> float:
    """(b): navigation to one partition's URL until its materialization shows."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        url = f"{base}/assets/{ASSET}?view=partitions&partition={urllib.parse.quote(key)}"
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.get_by_text(MARKER).first.wait_for()
        seconds = time.perf_counter() - started
        assert key in page.inner_text("body"), f"{key} is not on its own page"
        return round(seconds, 3)
    finally:
        context.close()


@contextmanager
def dagster_storage(storage: str):
    """None for SQLite; a throwaway PostgreSQL database's psycopg2 URL, dropped after."""
    if storage == "sqlite":
        yield None
        return
    from benchmarks.harness import Env, throwaway_database

    env = Env()
    with throwaway_database(env, "ivyi_bench_ui", migrate=False) as url:
        yield env.dagster_url(url)


def measure(browser, count: int, repeats: int, workdir: Path, storage: str) -> dict:
    """Every figure of one instance of `count` partitions."""
    load_before = _load()
    dagster_home, ivyi_home = workdir / f"dagster_home_{count}", workdir / f"ivyi_home_{count}"
    ivyi_home.mkdir()
    with dagster_storage(storage) as postgres_url:
        made = make_instance(dagster_home, count, postgres_url)
        target = made["keys"][count // 2]
        log = workdir / f"webserver_{count}.log"
        with webserver(dagster_home, ivyi_home, log) as (base, up):
            lists, pages = [], []
            for _ in range(repeats):
                lists.append(measure_list(browser, base, count, target))
                pages.append(measure_partition_page(browser, base, target))
    return {
        "partitions": count,
        "storage": storage,
        "add_dynamic_partitions_seconds": made["add_seconds"],
        "materialized_partitions": len(made["materialized"]),
        "webserver_startup_seconds": up,
        "list_seconds": [m["list_seconds"] for m in lists],
        "partition_page_seconds": pages,
        "click_seconds": [m["click_seconds"] for m in lists],
        "median_list_seconds": statistics.median(m["list_seconds"] for m in lists),
        "median_partition_page_seconds": statistics.median(pages),
        "median_click_seconds": statistics.median(m["click_seconds"] for m in lists),
        "search_seconds": [m["search_seconds"] for m in lists],
        "median_search_seconds": statistics.median(m["search_seconds"] for m in lists),
        "rows_rendered": lists[-1]["rows_rendered"],
        "first_row": lists[-1]["first_row"],
        "count_shown_on_page": lists[-1]["count_shown"],
        "partition_page_key": target,
        "list_graphql": lists[-1]["graphql"],
        "load_1m": [load_before, _load()],
    }


STORAGE_LABELS = {
    "sqlite": "SQLite (Dagster's default storage in a throwaway DAGSTER_HOME)",
    "postgres": "PostgreSQL (a throwaway database on IVYI_BENCH_PG_URL's server), "
    "dagster-postgres straight, no pgbouncer",
}

FIGURES = (
    ("add_dynamic_partitions_seconds", "add N keys (one call), s"),
    ("median_list_seconds", "(a) Partitions tab -> first rows, s"),
    ("median_partition_page_seconds", "(b) partition URL -> its content, s"),
    ("median_click_seconds", "(c) click first row -> its content, s"),
    ("median_search_seconds", "(d) type an occasion id -> its row alone, s"),
)


def table(results: list[dict]) -> str:
    baseline = results[0]
    lines = [
        f"{'figure':44} {'N':>7} {'median':>9} {'baseline':>9} {'ratio':>7} {'load 1m':>12}",
    ]
    for result in results[1:]:
        for field, label in FIGURES:
            value, base = result[field], baseline[field]
            ratio = f"{value / base:.2f}x" if base else "-"
            load = "-".join(str(x) for x in result["load_1m"])
            lines.append(
                f"{label:44} {result['partitions']:>7} {value:>9.3f} {base:>9.3f} "
                f"{ratio:>7} {load:>12}"
            )
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
    parser.add_argument("--partitions", default="10000,80000", help="comma-separated counts")
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--storage",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="Dagster storage: SQLite in a temp DAGSTER_HOME, or a throwaway PostgreSQL "
        "database (IVYI_BENCH_PG_URL's server, straight, no pgbouncer)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.partitions.split(",")]
    except ValueError:
        print(f"error: --partitions {args.partitions!r} is not a list of counts", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    uptime_before = _uptime()
    workdir = Path(tempfile.mkdtemp(prefix="ivyi-ui-partitions-"))
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                for count in [args.baseline, *counts]:
                    results.append(measure(browser, count, args.repeats, workdir, args.storage))
                    print(json.dumps(results[-1]), flush=True)
            finally:
                browser.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "started": started,
        "commit": _commit(),
        "command": " ".join(["python -m benchmarks.ui_partitions", *(argv or sys.argv[1:])]),
        "storage": STORAGE_LABELS[args.storage],
        "dagster": version("dagster"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "uptime_before": uptime_before,
        "uptime_after": _uptime(),
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    print(f"uptime before: {uptime_before}\nuptime after:  {report['uptime_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
