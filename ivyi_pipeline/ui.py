"""`ivyi ui`: the Dagster webserver and daemon on this data, bound to 127.0.0.1.

On an empty database the demo data is first driven through the pipeline by `ivyi demo`'s
code, which ends with the funnel materialized as of every simulated instant, so the UI opens on
runs, partitions, check results and a funnel with a history to plot.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from ivyi_pipeline.clock import from_db
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.schema import occasions
from ivyi_pipeline.orchestration import tags
from ivyi_pipeline.settings import Settings

HOST = "127.0.0.1"
LOCATION = "ivyi_pipeline"
WORKSPACE = f"""load_from:
  - python_module:
      module_name: ivyi_pipeline.definitions
      location_name: {LOCATION}
"""


def is_empty(engine: sa.Engine) -> bool:
    """True when no occasion has been loaded yet."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(occasions)).scalar() == 0


def materialize_funnel_history(
    instance: dg.DagsterInstance, engine: sa.Engine, echo: Callable[[str], None]
) -> int:
    """Materialize gifting_funnel as of every instant a process moved; return how many."""
    from ivyi_pipeline.definitions import defs
    from ivyi_pipeline.local_runs import QUIET_CONSOLE
    from ivyi_pipeline.workflows.gifting_process.funnel_report import transition_instants

    job = defs.resolve_job_def("gifting_funnel_job")
    instants = transition_instants(engine)
    for at in instants:
        job.execute_in_process(
            instance=instance, tags={tags.AS_OF: from_db(at).isoformat()}, run_config=QUIET_CONSOLE
        )
    echo(f"materialized the gifting funnel as of {len(instants)} simulated instants")
    return len(instants)


def prepare(
    settings: Settings,
    instance: dg.DagsterInstance,
    as_of: datetime,
    echo: Callable[[str], None],
    seed: int = 7,
    days: int = 45,
) -> bool:
    """Drive the demo through the pipeline if the database is empty; True when it did."""
    from ivyi_pipeline.demo import run_demo

    engine = get_engine(settings.database_url)
    if not is_empty(engine):
        echo("the database already holds data; opening the UI on it as it is")
        return False
    run_demo(settings, instance, as_of, days, seed, echo)  # ends with the funnel materialized
    return True


def write_workspace(settings: Settings) -> Path:
    """A workspace file that loads the code location from the installed package."""
    path = settings.home / "workspace.yaml"
    path.write_text(WORKSPACE)
    return path


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(settings: Settings, port: int, echo: Callable[[str], None]) -> int:
    """Run dagster-webserver (127.0.0.1:port) and dagster-daemon until one stops or Ctrl-C."""
    workspace = str(write_workspace(settings))
    env = {
        **os.environ,
        "DAGSTER_HOME": os.environ.get("DAGSTER_HOME") or str(settings.dagster_home),
        "IVYI_HOME": str(settings.home),
        "IVYI_DATABASE_URL": settings.database_url,
    }
    bin_dir = Path(sys.executable).parent
    commands = [
        [str(bin_dir / "dagster-webserver"), "-h", HOST, "-p", str(port), "-w", workspace],
        [str(bin_dir / "dagster-daemon"), "run", "-w", workspace],
    ]
    processes = [subprocess.Popen(command, env=env) for command in commands]
    echo(f"Dagster UI on http://{HOST}:{port} (daemon running; Ctrl-C stops both)")
    status = 0
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(1)
        status = next(p.returncode for p in processes if p.returncode is not None) or 1
        echo("the webserver or the daemon stopped; stopping the other")
    except KeyboardInterrupt:
        echo("stopping the webserver and the daemon")
    finally:
        _stop(processes)
    return status
