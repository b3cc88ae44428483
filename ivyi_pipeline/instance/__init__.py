"""The Dagster instance: where the embedded default keeps it and how it is configured."""

import os
import shutil
from pathlib import Path

import dagster as dg

from ivyi_pipeline.settings import Settings

EMBEDDED_CONFIG = Path(__file__).with_name("embedded_dagster.yaml")


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance DAGSTER_HOME names; unset, the embedded one under IVYI_HOME (SQLite)."""
    if not os.environ.get("DAGSTER_HOME"):
        settings.dagster_home.mkdir(parents=True, exist_ok=True)
        config = settings.dagster_home / "dagster.yaml"
        if not config.exists():
            shutil.copyfile(EMBEDDED_CONFIG, config)
        os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return dg.DagsterInstance.get()
