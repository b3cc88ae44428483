"""The `ivyi` command line: thin entry points over the service functions."""

import functools
import logging
import os
import signal
import sys
import threading
import warnings

import click

from ivyi_pipeline.db.engine import get_engine, missing_sqlite_file
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.errors import IvyiError
from ivyi_pipeline.settings import (
    Settings,
    check_database_url,
    debug,
    redact_url,
    retry_delay_seconds,
)


def _database_where() -> str:
    """The configured database URL without its password, or a stand-in when it is unusable."""
    try:
        return redact_url(Settings.from_env().database_url)
    except Exception:
        return "IVYI_DATABASE_URL"


def _dagster_home():
    """The DAGSTER_HOME the command uses (the embedded default's when unset)."""
    return Settings.from_env().dagster_home


def _describe(exc: Exception) -> str | None:
    """The one line for an exception no ivyi code turned into an IvyiError; None for click's."""
    from ivyi_pipeline.faults import (
        describe_database_error,
        describe_instance_error,
        describe_os_error,
    )

    if isinstance(exc, click.ClickException | click.exceptions.Exit | click.Abort):
        return None
    message = describe_instance_error(exc, _dagster_home())
    if message is not None:
        return message
    message = describe_database_error(exc, _database_where())
    if message is not None:
        return message
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    if debug():
        return None
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return (
        f"unexpected {type(exc).__name__}: {first}; this is a bug in ivyi: run the command "
        "with IVYI_DEBUG=1 to see the traceback, and report it"
    )


def _fail_cleanly(fn):
    """Turn any failure into one `error:` line on stderr: exit 1, or 130 on Ctrl-C.

    IvyiErrors (bad input, bad state, a refused environment) print their message; database
    faults say whether running again helps (transient) or what to fix (permanent); file
    system faults name the file; anything else is reported as a bug in one line
    (IVYI_DEBUG=1 shows the traceback instead).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        status = 1
        try:
            return fn(*args, **kwargs)
        except IvyiError as exc:
            message = str(exc)
        except KeyboardInterrupt as exc:
            status, message = _stopped(getattr(exc, "signum", signal.SIGINT), exc)
        except Exception as exc:
            message = _describe(exc)
            if message is None:
                raise
        except BaseException as exc:
            if not _dagster_interrupt(exc):
                raise
            # Dagster's own handler took the signal inside a run and raised its interrupt
            # outside the step that would have turned it into a failed step.
            from ivyi_pipeline.entrypoints.local_runs import stop_signal

            status, message = _stopped(stop_signal(), exc)
        # Outside the except block, so that the traceback and what it holds are released first.
        click.echo("error: " + " ".join(message.split()), err=True)
        sys.exit(status)

    return wrapper


def _stopped(signum: int | None, exc: BaseException) -> tuple[int, str]:
    """(exit status, line) of a command a signal stopped: 128 + the signal. Ctrl-C outside a
    run is a plain KeyboardInterrupt; a stop inside one (the CLI's handler or Dagster's) left
    runs that the session marked FAILED."""
    status = 128 + (signum or signal.SIGTERM)
    plain = not hasattr(exc, "signum") and not _dagster_interrupt(exc)
    if signum == signal.SIGINT and plain:
        return status, "interrupted (Ctrl-C); nothing after the last finished step ran"
    by = signal.Signals(signum).name if signum else "a signal during a run"
    return status, (
        f"stopped by {by}; its unfinished runs were marked FAILED, and the next ivyi command "
        "executes them again"
    )


def _dagster_interrupt(exc: BaseException) -> bool:
    """True for Dagster's DagsterExecutionInterruptedError (a BaseException, like Ctrl-C)."""
    dagster = sys.modules.get("dagster")
    return dagster is not None and isinstance(exc, dagster.DagsterExecutionInterruptedError)


def silence_connection_pools() -> None:
    """Drop what SQLAlchemy's pools log from now on. A stop signal's interrupt may land while a
    pool closes a connection, and the pool logs it with a traceback and goes on; the driver stops
    after the run anyway (`local_runs._STOP`). Each pool logs on its own child logger
    (`sqlalchemy.pool.impl.QueuePool`, ...), so their parent keeps their records from reaching
    Python's last-resort handler on stderr."""
    pools = logging.getLogger("sqlalchemy.pool")
    if not any(isinstance(handler, logging.NullHandler) for handler in pools.handlers):
        pools.addHandler(logging.NullHandler())
    pools.propagate = False
    pools.disabled = True


def ignore_stops_in_finalizers() -> None:
    """A stop signal's interrupt may also land inside a finalizer or a weakref callback (SQLAlchemy
    has them), where Python cannot raise it and prints it as "Exception ignored in" with a
    traceback. The stop is recorded before it is raised (`local_runs.request_stop`), so the
    driver stops after the run anyway: such a `Stopped` is dropped; anything else is reported
    as before."""
    from ivyi_pipeline.entrypoints.local_runs import Stopped

    previous = sys.unraisablehook
    if getattr(previous, "ignores_stops", False):
        return

    def hook(unraisable) -> None:
        if not isinstance(unraisable.exc_value, Stopped):
            previous(unraisable)

    hook.ignores_stops = True
    sys.unraisablehook = hook


def _stop_on_signals() -> None:
    """SIGTERM and Ctrl-C end a run command's run in flight FAILED, then the command (128 + n)."""
    from ivyi_pipeline.entrypoints.local_runs import request_stop, watch_signals

    if threading.current_thread() is not threading.main_thread():
        return  # called in process by a caller's thread: its signals are its own

    ignore_stops_in_finalizers()

    def stop(number: int, _frame) -> None:
        silence_connection_pools()
        request_stop(number)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    if watch_signals():
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        watch_signals(read_fd)


def _settings() -> Settings:
    """The environment, checked: usable folders and a database URL ivyi can open."""
    settings = Settings.from_env()
    check_database_url(settings.database_url)
    retry_delay_seconds()  # a bad value is one line now, not a failed step later
    settings.ensure_dirs()
    return settings


def _migrated_engine(settings: Settings):
    """The domain database's engine; a clear error when it is unreachable, has no schema yet or
    was migrated by a newer version of ivyi."""
    from ivyi_pipeline.db.migrate import check_revision

    url = redact_url(settings.database_url)
    if missing_sqlite_file(settings.database_url):
        # Checked before connecting: SQLite would create an empty file there (a mistyped path).
        raise IvyiError(
            f"there is no database at {url} yet; run `ivyi db upgrade` (or `ivyi load`, "
            "`ivyi seed`, `ivyi demo`) first, or check IVYI_DATABASE_URL and IVYI_HOME"
        )
    if check_revision(settings.database_url) is None:
        raise IvyiError(f"the database at {url} has no schema yet; run `ivyi db upgrade` first")
    return get_engine(settings.database_url)


def _not_empty(_ctx, param, value: str | None) -> str | None:
    """Refuse an empty value: left out means now, an empty one is a mistake (an unset variable)."""
    if value is not None and not value.strip():
        raise click.BadParameter(
            "the value is empty; give an ISO-8601 instant such as 2026-06-01T09:00Z, or leave "
            f"{param.opts[0]} out to act now",
            param=param,
        )
    return value


class _OneLineErrors(click.Group):
    """A group whose usage errors are one `error:` line too (exit 2), and Ctrl-C exits 130."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the command; in standalone mode turn click's own errors into one line."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            click.echo("error: " + " ".join(exc.format_message().split()) + where, err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo("error: " + " ".join(exc.format_message().split()), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: interrupted (Ctrl-C)", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_OneLineErrors)
def main() -> None:
    """Ivyi's gifting pipeline."""
    # Dagster warns on every import that the backfill policy is in beta; users cannot act on it.
    warnings.filterwarnings("ignore", message=r".*is currently in beta")
    # dagster-postgres logs each retry of a failed connection on the root logger, with the
    # driver's multi-line error; the command's own line says what failed once retries end.
    logging.getLogger().addFilter(_no_connection_retries)


def _no_connection_retries(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Retrying failed database connection")


@main.group()
def db() -> None:
    """Manage the domain database."""


@db.command("upgrade")
@_fail_cleanly
def db_upgrade() -> None:
    """Create or upgrade the schema (IVYI_DATABASE_URL, default a SQLite file in .ivyi/)."""
    settings = _settings()
    upgrade(settings.database_url)
    click.echo(f"database at {redact_url(settings.database_url)} is up to date")


# --- data commands (load, seed) ---


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@_fail_cleanly
def load(directory: str) -> None:
    """Load users, relationships, occasions, gifts and (optional) preferences CSVs from DIRECTORY.

    All or nothing: the first bad row is reported by file, line and column and nothing is
    written. Rows already stored with identical values are skipped, so a second load of the
    same files writes nothing. The files are checked first; then the schema is created or
    upgraded and the rows are checked against the database and written.
    """
    from pathlib import Path

    from ivyi_pipeline.data.csv_import import load_parsed, parse_directory
    from ivyi_pipeline.db.engine import get_engine
    from ivyi_pipeline.entrypoints.progress import Progress

    with Progress("load") as progress:
        progress.set_stage("checking the files")
        parsed = parse_directory(Path(directory))
        settings = _settings()
        progress.set_stage("upgrading the schema")
        upgrade(settings.database_url)
        rows = sum(len(frame) for frame in parsed.frames.values())
        progress.set_stage(f"checking {rows:,} rows against the database and writing the new ones")
        summary = load_parsed(get_engine(settings.database_url), parsed)
    click.echo(f"loaded {directory} into {redact_url(settings.database_url)}")
    for name, written in summary.written.items():
        present = summary.already_present[name]
        click.echo(f"  {name}: {written} written, {present} already present")


@main.command("seed")
@click.option("--occasions", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--users", type=click.IntRange(min=2), help="[default: occasions / 2]")
@click.option("--gifts", type=click.IntRange(min=0), default=300, show_default=True)
@click.option("--seed", "seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--as-of",
    "as_of",
    callback=_not_empty,
    help="YYYY-MM-DD the dates are spread around [default: today]",
)
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(file_okay=False),
    help="Write the CSV files `ivyi load` reads into this directory instead of the database.",
)
@_fail_cleanly
def seed_data(
    occasions: int,
    users: int | None,
    gifts: int,
    seed: int,
    as_of: str | None,
    csv_dir: str | None,
) -> None:
    """Generate a synthetic data set; the same options (--seed, --as-of, sizes) give the same rows.

    Without --csv the rows go to IVYI_DATABASE_URL in one transaction, after creating or
    upgrading the schema; if some of their ids are already there nothing is written.
    """
    import time
    from pathlib import Path

    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.data import generate_dataset, seed_database, write_csv
    from ivyi_pipeline.db.engine import get_engine

    started = time.perf_counter()
    day = parse_as_of(as_of).date()
    dataset = generate_dataset(as_of=day, occasions=occasions, users=users, gifts=gifts, seed=seed)
    if csv_dir is not None:
        write_csv(dataset, Path(csv_dir))
        counts, target = dataset.counts(), csv_dir
    else:
        settings = _settings()
        upgrade(settings.database_url)
        counts = seed_database(get_engine(settings.database_url), dataset)
        target = redact_url(settings.database_url)
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    click.echo(f"seeded {summary} into {target} in {time.perf_counter() - started:.1f}s")


# --- pipeline commands (tick, confirm, status, demo) ---


def _instance(settings: Settings):
    """The Dagster instance DAGSTER_HOME names, as Dagster's own tools use it."""
    from ivyi_pipeline.instance import open_instance

    return open_instance(settings)


AS_OF = click.option(
    "--as-of",
    "as_of",
    default=None,
    callback=_not_empty,
    help="ISO-8601 instant to act at (default now).",
)
DAY = click.DateTime(formats=["%Y-%m-%d"])


@main.command()
@AS_OF
@_fail_cleanly
def tick(as_of: str | None) -> None:
    """Evaluate every sensor as of --as-of, execute the runs they request, until nothing is due."""
    _stop_on_signals()
    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.definitions import defs
    from ivyi_pipeline.entrypoints.local_runs import tick as run_tick
    from ivyi_pipeline.entrypoints.progress import Progress
    from ivyi_pipeline.workflows.gifting_process.status import funnel

    settings = _settings()
    when = parse_as_of(as_of)
    engine = _migrated_engine(settings)
    with _instance(settings) as instance, Progress("tick") as progress:
        summary = run_tick(instance, defs, when, progress=progress)
    counts = funnel(engine)
    statuses = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "no processes"
    _report(summary, f"tick as of {when:%Y-%m-%d %H:%M}Z:", details=(statuses,))


def _report(summary, what: str, details: tuple[str, ...] = ()) -> None:
    """`<what> N run(s) succeeded, M failed`, the details, each failed run; exit 1 on failure."""
    click.echo(f"{what} {len(summary.succeeded)} run(s) succeeded, {len(summary.failed)} failed")
    for line in details:
        click.echo(f"  {line}")
    if getattr(summary, "recovered", 0):
        click.echo(
            f"  {summary.recovered} of them finished what an interrupted or killed ivyi command "
            f"left ({summary.ended_dead} of its runs left unfinished were marked FAILED)"
        )
    for run_id in summary.failed:
        click.echo(f"  failed run: {run_id}", err=True)
    if not summary.ok:
        sys.exit(1)


@main.command()
@AS_OF
@_fail_cleanly
def batch(as_of: str | None) -> None:
    """Do the daily schedule's work as of --as-of, in this process: detect, expire, order, sync."""
    _stop_on_signals()
    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.definitions import defs
    from ivyi_pipeline.entrypoints.local_runs import batch as run_batch
    from ivyi_pipeline.entrypoints.progress import Progress

    settings = _settings()
    when = parse_as_of(as_of)
    _migrated_engine(settings)
    with _instance(settings) as instance, Progress("batch") as progress:
        summary = run_batch(instance, defs, when, progress=progress)
    _report(summary, f"daily batch as of {when:%Y-%m-%d %H:%M}Z:")


@main.command("backfill-missed")
@click.option("--from", "start", type=DAY, required=True, help="First occurrence date.")
@click.option("--to", "end", type=DAY, required=True, help="Last occurrence date.")
@AS_OF
@_fail_cleanly
def backfill_missed(start, end, as_of: str | None) -> None:
    """Give occurrences dated --from..--to that have no process one, and run their gifting.

    The same backfill of the `occasion_detection` asset the Dagster UI launches, executed
    in this process on the configured instance, so it works where no daemon runs. Past
    occurrences within the grace period get a belated process; older ones are skipped.
    """
    _stop_on_signals()
    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.definitions import defs
    from ivyi_pipeline.entrypoints.local_runs import backfill as run_backfill
    from ivyi_pipeline.entrypoints.local_runs import check_backfill_range
    from ivyi_pipeline.entrypoints.progress import Progress

    settings = _settings()
    when = parse_as_of(as_of)
    check_backfill_range(defs, start.date(), end.date(), when)
    _migrated_engine(settings)
    with _instance(settings) as instance, Progress("backfill") as progress:
        summary = run_backfill(instance, defs, start.date(), end.date(), when, progress=progress)
    counts = ", ".join(f"{outcome}={n}" for outcome, n in summary.counts.items())
    _report(
        summary,
        f"backfill {start:%Y-%m-%d} .. {end:%Y-%m-%d} as of {when:%Y-%m-%d %H:%M}Z: {counts};",
    )


@main.command()
@click.argument("process_id")
@click.argument("gift_id")
@AS_OF
@_fail_cleanly
def confirm(process_id: str, gift_id: str, as_of: str | None) -> None:
    """Record the giver's choice of GIFT_ID for PROCESS_ID while its decision window is open.

    Repeating the same choice (a retry after a timeout) changes nothing and exits 0.
    """
    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.workflows.gifting_process.confirm import confirm_once

    settings = _settings()
    when = parse_as_of(as_of)
    _, recorded = confirm_once(_migrated_engine(settings), process_id, gift_id, when)
    if recorded:
        click.echo(f"confirmation of gift {gift_id} recorded for process {process_id}")
    else:
        click.echo(f"gift {gift_id} already confirmed for process {process_id}; nothing changed")


@main.command()
@click.argument("process_id")
@AS_OF
@_fail_cleanly
def redrive(process_id: str, as_of: str | None) -> None:
    """Clear PROCESS_ID's last error and run the gifting job on it now, on this instance."""
    _stop_on_signals()
    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.definitions import defs
    from ivyi_pipeline.entrypoints.local_runs import redrive as redrive_process
    from ivyi_pipeline.workflows.gifting_process.redrive import parse_process_id, standing_of

    settings = _settings()
    pid = parse_process_id(process_id)
    when = parse_as_of(as_of)
    engine = _migrated_engine(settings)
    standing_of(engine, pid)
    with _instance(settings) as instance:
        summary = redrive_process(instance, defs, pid, when)
    status, last_error = standing_of(engine, pid)
    run_id = summary.last_run  # the re-drive's own run (after any a killed command left)
    ok = run_id in summary.succeeded
    click.echo(
        f"re-drive of process {pid} {'succeeded' if ok else 'failed'} (run {run_id}): now {status}"
    )
    if not ok:
        click.echo(f"error: {last_error}", err=True)
        sys.exit(1)


@main.group()
def clock() -> None:
    """Read, or move back, the clock the ticks recorded (recovery from a wrong --as-of)."""


@clock.command("show")
@_fail_cleanly
def clock_show() -> None:
    """The last tick's --as-of, the wall clock, and processes last changed after the wall clock."""
    from ivyi_pipeline.entrypoints.clock_reset import clock_state

    for line in clock_state(_migrated_engine(_settings())).lines():
        click.echo(line)


@clock.command("reset")
@click.option("--to", "to", required=True, help="ISO-8601 instant to record as the last tick's.")
@_fail_cleanly
def clock_reset(to: str) -> None:
    """Move the last tick's recorded --as-of back to --to, so ticks at that time run again.

    No process history changes: processes a wrong tick created or moved keep their rows and
    are listed. Refused while another ivyi command runs on the database.
    """
    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.entrypoints.clock_reset import reset_clock

    when = parse_as_of(to, "--to")
    outcome = reset_clock(_migrated_engine(_settings()), when)
    if outcome.changed:
        click.echo(
            f"clock reset: the last tick's --as-of moved from {outcome.moved_from.isoformat()} "
            f"to {when.isoformat()}; the detection cursor is rebuilt at the next tick; "
            "no process history changed"
        )
    elif outcome.moved_from is None:
        click.echo("no tick recorded yet; nothing changed")
    else:
        click.echo(
            f"the last tick's --as-of is already {outcome.moved_from.isoformat()}, not later "
            f"than {when.isoformat()}; nothing changed"
        )
    for line in outcome.state.lines()[2:]:
        click.echo(line)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per process, in a list.")
@_fail_cleanly
def status(as_json: bool) -> None:
    """Where every gift process stands, why, and what it was offered."""
    import json

    from ivyi_pipeline.workflows.gifting_process.status import as_frame, process_statuses

    entries = process_statuses(_migrated_engine(_settings()))
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo("no gift processes yet")
        return
    frame = as_frame(entries).assign(ranked=lambda f: f["ranked_gift_ids"].map(len))
    columns = ["process_id", "occasion_id", "occurrence_date", "status", "ranked", "blocked_reason"]
    click.echo(frame[columns].to_string(index=False, na_rep=""))


@main.command()
@click.option(
    "--days",
    default=45,
    show_default=True,
    type=click.IntRange(min=1),
    help="Most simulated days to run.",
)
@click.option("--seed", "seed", default=7, show_default=True, help="Seed of the synthetic data.")
@click.option(
    "--reset",
    is_flag=True,
    help="First delete the data set an earlier demo wrote (never data it did not write).",
)
@AS_OF
@_fail_cleanly
def demo(days: int, seed: int, reset: bool, as_of: str | None) -> None:
    """Drive a small synthetic data set through simulated days until every process completes.

    It runs on an empty database only, or, with --reset, on one holding an earlier demo's data
    set, which it deletes first (with that data set's runs and partitions in the Dagster
    instance). A database holding data the demo did not write is refused, untouched.
    """
    _stop_on_signals()
    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.entrypoints.demo import run_demo
    from ivyi_pipeline.entrypoints.progress import Progress

    settings = _settings()
    when = parse_as_of(as_of)
    upgrade(settings.database_url)
    with _instance(settings) as instance, Progress("demo") as progress:
        echo = progress.echo(click.echo)
        run_demo(settings, instance, when, days, seed, echo, fresh=reset, progress=progress)


@main.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=3000,
    show_default=True,
    help="Port on 127.0.0.1.",
)
@click.option("--seed", "seed", default=7, show_default=True, help="Seed of the demo data.")
@AS_OF
@_fail_cleanly
def ui(port: int, seed: int, as_of: str | None) -> None:
    """Open the Dagster UI (webserver and daemon on 127.0.0.1) on this data.

    On an empty database the demo data is first driven through the pipeline and the daily
    funnel materialized, as `ivyi demo` would; otherwise the data is shown as it is.
    SIGINT (Ctrl-C), SIGTERM and SIGHUP stop the webserver, the daemon and every process they
    started; the exit status is 128 + the signal (130 for Ctrl-C). They stop too when ivyi is
    killed. A second `ivyi ui` on the same DAGSTER_HOME is refused: one daemon per instance.
    """
    from ivyi_pipeline.clock import parse_as_of
    from ivyi_pipeline.entrypoints.ui import check_port_free, daemon_lock, prepare, serve

    settings = _settings()
    when = parse_as_of(as_of)
    check_port_free(port)
    with daemon_lock(settings.dagster_home) as lock:
        upgrade(settings.database_url)
        with _instance(settings) as instance:
            prepare(settings, instance, when, click.echo, seed=seed)
        status = serve(settings, port, click.echo, lock_fd=lock)
    sys.exit(status)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@AS_OF
@_fail_cleanly
def serve(host: str, port: int, as_of: str | None) -> None:
    """Serve the platform's HTTP API (README: Platform developers) until Ctrl-C.

    Needs IVYI_API_TOKENS and IVYI_CARRIER_WEBHOOK_SECRETS; a fixed --as-of is for simulations.
    """
    from ivyi_pipeline.api.server import serve as run_server
    from ivyi_pipeline.clock import parse_as_of

    settings = _settings()
    fixed = parse_as_of(as_of) if as_of else None
    _migrated_engine(settings)
    run_server(settings.database_url, host, port, (lambda: fixed) if fixed else None, click.echo)


if __name__ == "__main__":
    main()
