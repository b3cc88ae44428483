"""Where ivyi keeps its files when the environment names none."""

from pathlib import Path

import pytest

from ivyi_pipeline.settings import DEFAULT_HOME, Settings


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_an_unset_or_empty_ivyi_home_is_the_default_folder_not_the_current_one(monkeypatch, value):
    for name in ("IVYI_DATABASE_URL", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    if value is None:
        monkeypatch.delenv("IVYI_HOME", raising=False)
    else:
        monkeypatch.setenv("IVYI_HOME", value)

    settings = Settings.from_env()

    assert settings.home == Path(DEFAULT_HOME).resolve()
    assert settings.home != Path.cwd()
    assert settings.database_url == f"sqlite:///{Path(DEFAULT_HOME).resolve() / 'ivyi.db'}"
