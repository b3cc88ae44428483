"""The Helm values describe the same instance as the production dagster.yaml, without secrets."""

import tomllib

import yaml

from ivyi_pipeline_tests.deployment import PRODUCTION_DAGSTER_YAML, REPO_ROOT

HELM_VALUES = REPO_ROOT / "deploy" / "helm" / "values.yaml"
DOCKERFILE = REPO_ROOT / "deploy" / "docker" / "Dockerfile"


def _load(path):
    return yaml.safe_load(path.read_text())


def _secret_like(node, path=()):
    """(path, value) of every non-empty value under a key that names a password or secret."""
    if isinstance(node, dict):
        for key, value in node.items():
            if (
                isinstance(value, str)
                and value
                and any(word in key.lower() for word in ("password", "token", "secretkey"))
            ):
                yield (*path, key), value
            yield from _secret_like(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _secret_like(value, (*path, index))


def test_the_helm_run_queue_has_the_production_limits():
    instance = _load(PRODUCTION_DAGSTER_YAML)["run_coordinator"]["config"]
    daemon = _load(HELM_VALUES)["dagsterDaemon"]
    queued = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]

    assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert queued["maxConcurrentRuns"] == instance["max_concurrent_runs"]
    assert queued["tagConcurrencyLimits"] == instance["tag_concurrency_limits"]
    assert queued["dequeueIntervalSeconds"] == instance["dequeue_interval_seconds"]
    assert queued["dequeueNumWorkers"] == instance["dequeue_num_workers"]


def test_the_helm_daemon_retries_monitors_and_threads_as_production_does():
    instance = _load(PRODUCTION_DAGSTER_YAML)
    daemon = _load(HELM_VALUES)["dagsterDaemon"]

    assert daemon["runRetries"] == {
        "enabled": instance["run_retries"]["enabled"],
        "maxRetries": instance["run_retries"]["max_retries"],
    }
    assert daemon["runMonitoring"]["enabled"] is instance["run_monitoring"]["enabled"]
    assert (
        daemon["runMonitoring"]["maxRuntimeSeconds"]
        == instance["run_monitoring"]["max_runtime_seconds"]
    )
    for kind in ("sensors", "schedules"):
        assert daemon[kind] == {
            "useThreads": instance[kind]["use_threads"],
            "numWorkers": instance[kind]["num_workers"],
            "numSubmitWorkers": instance[kind]["num_submit_workers"],
        }


def test_the_helm_values_keep_dagster_storage_external_and_every_credential_in_a_secret():
    values = _load(HELM_VALUES)

    assert values["postgresql"]["enabled"] is False
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
    assert list(_secret_like(values)) == []
    storage = _load(PRODUCTION_DAGSTER_YAML)["storage"]["postgres"]
    assert storage == {"postgres_url": {"env": "DAGSTER_PG_URL"}}


def test_the_code_server_the_chart_and_the_image_start_loads_the_project_definitions():
    module = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["dagster"][
        "module_name"
    ]
    deployments = _load(HELM_VALUES)["dagster-user-deployments"]["deployments"]

    assert [d["codeServerArgs"] for d in deployments] == [["-m", module]]
    assert f'"-m", "{module}"' in DOCKERFILE.read_text()


API_UNIT = REPO_ROOT / "deploy" / "systemd" / "ivyi-api.service"
API_MANIFEST = REPO_ROOT / "deploy" / "k8s" / "ivyi-api.yaml"


def test_the_api_runs_as_ivyi_serve_with_its_secrets_from_outside_the_files():
    unit = API_UNIT.read_text()
    deployment, service = yaml.safe_load_all(API_MANIFEST.read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    assert "ExecStart=/srv/ivyi/.venv/bin/ivyi serve --host 127.0.0.1 --port 8080" in unit
    assert "EnvironmentFile=/etc/ivyi/api.env" in unit
    assert not [line for line in unit.splitlines() if line.startswith("Environment=")]
    assert container["command"][:2] == ["ivyi", "serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert [ref["secretRef"]["name"] for ref in container["envFrom"]] == ["ivyi-env", "ivyi-api"]
    assert {e["name"] for e in container["env"]}.isdisjoint(
        {"IVYI_API_TOKENS", "IVYI_CARRIER_WEBHOOK_SECRETS", "IVYI_DATABASE_URL"}
    )
    assert list(_secret_like(deployment)) == []
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
