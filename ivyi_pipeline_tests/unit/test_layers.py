"""Imports point one way: entry points on top, a pure domain, benchmarks apart, no cycles;
and each persistence concept has one home: the environment in settings.py, every lock in
db/locks.py, the pipeline_state table's reads and writes in db/pipeline_state.py.

The imports are read with `ast` from the source files, function-level (lazy) imports included:
a cycle broken only by importing inside a function is still a cycle.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "ivyi_pipeline"
ENTRYPOINTS = f"{PACKAGE}.entrypoints"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every module `path` imports (relative ones resolved; `from a import b`: a.b if a module)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            found |= {name for name in submodules if _is_module(name)} or {base}
    return found


def _sources(folder: str) -> dict[str, set[str]]:
    return {_module_name(path): _imports(path) for path in sorted((ROOT / folder).rglob("*.py"))}


def _reaches(imported: str, prefix: str) -> bool:
    return imported == prefix or imported.startswith(f"{prefix}.")


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} imports {imported}"
        for module, imports in graph.items()
        if not _reaches(module, ENTRYPOINTS)
        for imported in sorted(imports)
        if _reaches(imported, ENTRYPOINTS)
    ]


def _impure_domain(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} imports {imported}"
        for module, imports in graph.items()
        if _reaches(module, f"{PACKAGE}.domain")
        for imported in sorted(imports)
        if _reaches(imported, "dagster") or _reaches(imported, "sqlalchemy")
    ]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles among the graph's own modules: each strongly connected set, sorted."""
    edges = {
        module: sorted({imported for imported in imports if imported in graph} - {module})
        for module, imports in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return components


def test_nothing_below_the_entry_points_should_import_them():
    graph = _sources(PACKAGE)
    assert any(_reaches(module, ENTRYPOINTS) for module in graph)
    assert _upward(graph) == []


def test_the_domain_should_import_neither_dagster_nor_sqlalchemy():
    graph = _sources(PACKAGE)
    assert any(_reaches(module, f"{PACKAGE}.domain") for module in graph)
    assert _impure_domain(graph) == []


def test_benchmarks_should_import_the_package_never_the_tests():
    graph = _sources("benchmarks")
    assert any(_reaches(imported, PACKAGE) for imports in graph.values() for imported in imports)
    offences = [
        f"{module} imports {imported}"
        for module, imports in graph.items()
        for imported in sorted(imports)
        if _reaches(imported, "ivyi_pipeline_tests")
    ]
    assert offences == []


def test_the_package_should_hold_no_import_cycle():
    assert _cycles(_sources(PACKAGE)) == []


ENVIRONMENT_READERS = {
    f"{PACKAGE}.settings",
    f"{PACKAGE}.instance",  # sets DAGSTER_HOME for the embedded instance
    f"{ENTRYPOINTS}.ui",  # hands its environment on to the webserver and the daemon
}
LOCKS = f"{PACKAGE}.db.locks"
PIPELINE_STATE = f"{PACKAGE}.db.pipeline_state"


def _trees() -> dict[str, ast.AST]:
    return {
        _module_name(path): ast.parse(path.read_text(), str(path))
        for path in sorted((ROOT / PACKAGE).rglob("*.py"))
    }


def _environment_readers(trees: dict[str, ast.AST]) -> list[str]:
    """Modules that touch os.environ or os.getenv (or import them from os)."""
    found = set()
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and {alias.name for alias in node.names} & {"environ", "getenv"}
            ):
                found.add(module)
    return sorted(found - ENVIRONMENT_READERS)


def _lockers(trees: dict[str, ast.AST]) -> list[str]:
    """Modules other than db/locks.py that name an advisory lock function or import fcntl."""
    found = set()
    for module, tree in trees.items():
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) else None
            name = node.attr if isinstance(node, ast.Attribute) else None
            imported = (
                {alias.name for alias in node.names} if isinstance(node, ast.Import) else set()
            )
            if (
                (isinstance(text, str) and "advisory" in text and "pg_" in text)
                or (name or "").startswith("pg_advisory")
                or (name or "").startswith("pg_try_advisory")
                or "fcntl" in imported
            ):
                found.add(module)
    return sorted(found - {LOCKS})


def _pipeline_state_users(trees: dict[str, ast.AST]) -> list[str]:
    """Modules other than db/pipeline_state.py that build a statement on the table."""
    found = set()
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "pipeline_state"
            ) or (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "pipeline_state"
            ):
                found.add(module)
    return sorted(found - {PIPELINE_STATE})


def test_only_settings_should_read_the_environment():
    trees = _trees()
    assert f"{PACKAGE}.settings" in trees
    assert _environment_readers(trees) == []


def test_every_lock_should_live_in_db_locks():
    trees = _trees()
    assert LOCKS in trees
    assert _lockers(trees) == []


def test_only_db_pipeline_state_should_read_or_write_the_pipeline_state_table():
    trees = _trees()
    assert PIPELINE_STATE in trees
    assert _pipeline_state_users(trees) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checks_should_find_an_upward_import_an_impure_domain_and_a_cycle(
    tmp_path, monkeypatch
):
    _write(
        tmp_path,
        {
            "ivyi_pipeline/__init__.py": "",
            "ivyi_pipeline/entrypoints/__init__.py": "",
            "ivyi_pipeline/entrypoints/cli.py": "from ivyi_pipeline.domain import states\n",
            "ivyi_pipeline/domain/__init__.py": "",
            "ivyi_pipeline/domain/states.py": "import sqlalchemy as sa\nfrom . import rules\n",
            "ivyi_pipeline/domain/rules.py": (
                "def f():\n    from ivyi_pipeline.domain.states import X\n"
                "    from ivyi_pipeline.entrypoints import cli\n"
            ),
        },
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    graph = _sources(PACKAGE)
    assert _upward(graph) == ["ivyi_pipeline.domain.rules imports ivyi_pipeline.entrypoints.cli"]
    assert _impure_domain(graph) == ["ivyi_pipeline.domain.states imports sqlalchemy"]
    assert _cycles(graph) == [
        [
            "ivyi_pipeline.domain.rules",
            "ivyi_pipeline.domain.states",
            "ivyi_pipeline.entrypoints.cli",
        ]
    ]


def test_the_home_checks_should_find_an_environment_read_a_lock_and_a_pipeline_state_write(
    tmp_path, monkeypatch
):
    _write(
        tmp_path,
        {
            "ivyi_pipeline/__init__.py": "",
            "ivyi_pipeline/settings.py": "import os\nos.environ.get('IVYI_HOME')\n",
            "ivyi_pipeline/db/__init__.py": "",
            "ivyi_pipeline/db/locks.py": "import fcntl\nX = 'SELECT pg_advisory_lock(1)'\n",
            "ivyi_pipeline/db/pipeline_state.py": "pipeline_state.delete()\n",
            "ivyi_pipeline/workflows/__init__.py": "",
            "ivyi_pipeline/workflows/rules.py": (
                "from os import getenv\nimport fcntl\n"
                "def f(conn, sa):\n"
                "    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(7)))\n"
                "    conn.execute(insert(pipeline_state).values(name='x'))\n"
                "    conn.execute(pipeline_state.update())\n"
            ),
        },
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    trees = _trees()
    assert _environment_readers(trees) == ["ivyi_pipeline.workflows.rules"]
    assert _lockers(trees) == ["ivyi_pipeline.workflows.rules"]
    assert _pipeline_state_users(trees) == ["ivyi_pipeline.workflows.rules"]
