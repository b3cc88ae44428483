"""CI and installs: the README's test command is .ci/run's, installs are pinned, and the audit
step says what it audited."""

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / ".ci" / "audit.py"


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    ending = "pytest -q -n 2 --dist loadfile --durations=15"
    (command,) = [line for line in readme.splitlines() if line.endswith(ending)]
    return command


def test_ci_runs_the_readmes_test_command_verbatim_as_its_last_step():
    steps = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert steps[-1] == _readme_test_command()


def test_both_readme_commands_install_from_the_constraints_file():
    readme = (ROOT / "README.md").read_text()
    installs = re.findall(r"\.venv/bin/pip install [^&]*", readme)
    assert len(installs) >= 2
    assert all("-c constraints.txt" in install for install in installs), installs


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_name(name)] = version
    return pins


def _name(text: str) -> str:
    return re.split(r"[\s<>=!~;\[]", text.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_the_constraints_pin_what_is_installed_and_every_requirement_of_the_project():
    installed = {
        _name(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()
    }
    pins = _pins()
    required = {_name(r) for r in importlib.metadata.requires("ivyi_pipeline") or []}

    assert "ivyi-pipeline" not in pins
    assert pins["dagster"] == "1.13.27"
    assert {name: installed.get(name) for name in pins} == pins
    assert required - set(pins) == set(), "a requirement without a pin: regenerate constraints.txt"
    assert len(required) > 15


def _audit(report: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(AUDIT)], input=json.dumps(report), capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "report",
    [
        {"dependencies": [{"name": "a", "version": "1", "skip_reason": "not found on PyPI"}]},
        {"dependencies": []},
        "not a report",
    ],
)
def test_the_audit_step_says_nothing_was_audited_when_no_service_answered(report):
    done = _audit(report)

    assert done.returncode == 0
    assert "NOTHING WAS AUDITED" in done.stdout


def test_the_audit_step_fails_on_a_known_vulnerability_and_counts_what_it_audited():
    done = _audit(
        {
            "dependencies": [
                {"name": "a", "version": "1", "vulns": [{"id": "PYSEC-0"}]},
                {"name": "b", "version": "2", "vulns": []},
                {"name": "c", "version": "3", "skip_reason": "not found"},
            ]
        }
    )

    assert done.returncode == 1
    assert "audited 2 of 3 packages (1 not audited); 1 with known vulnerabilities" in done.stdout
    assert "a 1: PYSEC-0" in done.stdout
