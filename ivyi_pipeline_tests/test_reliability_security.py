"""Security: no credentials in the repository, bound SQL parameters, the UI on loopback."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ivyi_pipeline"

URL_WITH_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:[^\s@/'\"{}$*]+@")
DUMMIES = {"postgresql://ivyi:secret@"}
"""Made-up credentials of a redaction test, for a server on port 1 that does not exist."""
PASSWORD_VALUE = re.compile(r"""(?i)\b(password|passwd|secret|api_key)\s*[:=]\s*['"][^'"]+['"]""")
SQL_FROM_FSTRING = re.compile(
    r"""(\bsa\.text|(?<![\w.])text|exec_driver_sql|\.execute)\(\s*f['"]"""
)


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def _texts():
    for path in _tracked_files():
        try:
            yield path, path.read_text()
        except UnicodeDecodeError:
            continue


def test_no_url_with_a_password_and_no_password_value_is_in_the_repository():
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path, text in _texts()
        for pattern in (URL_WITH_PASSWORD, PASSWORD_VALUE)
        for match in pattern.finditer(text)
        if match.group(0) not in DUMMIES
    ]
    assert found == []


def test_the_credential_check_would_catch_a_url_with_a_password():
    # Built from parts, so that this file holds no such URL itself.
    assert URL_WITH_PASSWORD.search("postgresql://ivyi" + ":s3cret" + "@db.internal:5432/ivyi")
    assert not URL_WITH_PASSWORD.search("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def test_no_sql_statement_of_the_package_is_built_from_an_f_string():
    found = [
        f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
        for path in PACKAGE.rglob("*.py")
        for text in [path.read_text()]
        for m in SQL_FROM_FSTRING.finditer(text)
    ]
    assert found == []


@pytest.mark.parametrize("path", ["ivyi_pipeline/ui.py", "ivyi_pipeline/demo.py"])
def test_the_webserver_is_bound_to_loopback(path):
    text = (ROOT / path).read_text()
    if "dagster-webserver" not in text:
        pytest.skip(f"{path} starts no webserver")
    assert "0.0.0.0" not in text
    assert "127.0.0.1" in text
