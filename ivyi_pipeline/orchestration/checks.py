"""The data-quality rules as the UI shows them: every verdict on the process's own partition,
a check result only where a rule fails.

What Dagster stores for a rule must not grow with the processes ever judged (issue 20). So:

- every rule's verdict on a process (passing ones included, with the reason) is written in the
  materialization metadata of the process's `gift_process_state` partition (`verdicts_of`),
  which goes out batched with the materialization the run writes anyway;
- the four checks are declared apart from the `gifting_process` graph asset (`gifting_rules`)
  and the jobs select the asset without them, so no run plans a check on its range: a process
  a rule does not apply to yet is never *Skipped*, and a failed run turns no check red;
- the last step of every run (`ops.complete_process`), once its materializations are stored,
  records a check result on a process's own
  partition only where a rule fails, pointing at the partition's latest materialization of the
  checked asset, so the failure shows red, findable by partition key, until a later
  materialization of that partition is judged clean (each run re-judges its processes and
  records a still-failing rule again); a ranged run also records one summary a check;
- retention forgets the results of retired partitions (`dagster_internals`), so the UI's
  per-partition check status reads rows of live failing processes only.

Running the checks from the UI (*Materialize* with checks, or a check alone) executes
`gifting_rules`, which judges the selected partitions and records a result for each.
"""

import warnings
from collections.abc import Iterator, Mapping, Sequence

import dagster as dg

from ivyi_pipeline.db.reads import chunks
from ivyi_pipeline.orchestration.dagster_internals import partition_check_evaluation
from ivyi_pipeline.orchestration.partitions import gift_processes_partitions
from ivyi_pipeline.orchestration.resources import IvyiDatabase
from ivyi_pipeline.orchestration.run_scope import as_of, partition_keys_by_process
from ivyi_pipeline.workflows.gifting_process import quality
from ivyi_pipeline.workflows.gifting_process.quality import QualityReport

SHOWN_IDS = 50
TARGETS_PER_QUERY = 500
VERDICT_PREFIX = "rule: "
PROBLEM_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("process_id", "string"),
        dg.TableColumn("severity", "string"),
        dg.TableColumn("problem", "string"),
    ]
)


def _partitioned_check(name: str, asset: str, description: str) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():
        # Partitioned asset checks are a preview feature of the pinned Dagster (1.13.27).
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name, asset=asset, description=description, partitions_def=gift_processes_partitions
        )


OPTIONS_NOT_EMPTY = _partitioned_check(
    "options_not_empty",
    "gift_options",
    "The process has options once it reached option generation (WARN when blocked).",
)
OPTIONS_AFFORDABLE_AND_IN_STOCK = _partitioned_check(
    "options_affordable_and_in_stock",
    "gift_options",
    "Options are within budget and in stock when generated (judged by the generating run).",
)
RANKS_WITHOUT_GAPS = _partitioned_check(
    "ranks_without_gaps",
    "ranked_decisions",
    "The process's ranked options are numbered 1..n and are all among its options.",
)
SELECTED_GIFT_IS_RANKED = _partitioned_check(
    "selected_gift_is_ranked",
    "gift_process_state",
    "The process's selected gift, default or confirmed, is one of its ranked options.",
)
GIFTING_CHECK_SPECS = [
    OPTIONS_NOT_EMPTY,
    OPTIONS_AFFORDABLE_AND_IN_STOCK,
    RANKS_WITHOUT_GAPS,
    SELECTED_GIFT_IS_RANKED,
]
GIFTING_CHECK_KEYS = [spec.key for spec in GIFTING_CHECK_SPECS]


def _severity(report: QualityReport, process_id: str | None = None) -> dg.AssetCheckSeverity:
    errors = report.errors if process_id is None else report.errors.keys() & {process_id}
    return dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN


def verdicts_of(reports: Mapping[str, QualityReport], ids: Sequence[str]) -> dict[str, dict]:
    """{process id: {"rule: <check>": verdict}}: every rule's verdict on every process."""
    checked = {name: set(report.checked) for name, report in reports.items()}
    verdicts: dict[str, dict] = {}
    for pid in ids:
        values = {}
        for name, report in reports.items():
            if pid in checked[name]:
                values[VERDICT_PREFIX + name] = report.verdict(pid)
            else:
                values[VERDICT_PREFIX + name] = report.unjudged()
        failing = sum(1 for report in reports.values() if pid in report.failing)
        values["rules_failing"] = dg.MetadataValue.int(failing)
        verdicts[pid] = values
    return verdicts


def failure_results(
    spec: dg.AssetCheckSpec,
    report: QualityReport,
    key_of: Mapping[str, str],
    targets: Mapping[str, dg.EventLogRecord],
    passing_too: bool = False,
) -> Iterator[dg.AssetCheckEvaluation]:
    """A result on the process's own partition for each process failing the rule."""
    failing = report.failing
    for pid in report.checked:
        if pid not in failing and not passing_too:
            continue
        yield partition_check_evaluation(
            spec,
            partition=key_of[pid],
            passed=pid not in failing,
            severity=_severity(report, pid) if pid in failing else dg.AssetCheckSeverity.ERROR,
            description=report.verdict(pid),
            metadata={"process_id": pid},
            target=targets.get(key_of[pid]),
        )


def run_summary(spec: dg.AssetCheckSpec, report: QualityReport) -> dg.AssetCheckEvaluation:
    """The result of one check over the whole run, failing process ids in its metadata."""
    failing = report.failing
    problems = [
        dg.TableRecord(
            {
                "process_id": pid,
                "severity": "ERROR" if pid in report.errors else "WARN",
                "problem": why,
            }
        )
        for pid, why in list(failing.items())[:SHOWN_IDS]
    ]
    return dg.AssetCheckEvaluation(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=report.passed,
        severity=_severity(report),
        description=report.summary(),
        metadata={
            "processes_checked": dg.MetadataValue.int(len(report.checked)),
            "failing_processes": dg.MetadataValue.int(len(failing)),
            "failing_process_ids": dg.MetadataValue.text(", ".join(sorted(failing)) or "none"),
            "problems": dg.MetadataValue.table(problems, schema=PROBLEM_SCHEMA),
        },
    )


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str]
) -> dict[str, dg.EventLogRecord]:
    """Each listed partition's latest materialization of the asset: one query per 500."""
    latest: dict[str, dg.EventLogRecord] = {}
    for chunk in chunks(partitions, TARGETS_PER_QUERY):
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=chunk), limit=len(chunk)
        ).records
        for record in records:  # newest first
            latest.setdefault(record.partition_key, record)
    return latest


def _results(
    context: dg.OpExecutionContext,
    reports: Mapping[str, QualityReport],
    specs: Sequence[dg.AssetCheckSpec],
    passing_too: bool,
) -> Iterator[dg.AssetCheckEvaluation]:
    key_of = partition_keys_by_process(context)
    for spec in specs:
        report = reports[spec.name]
        if not report.passed:
            context.log.warning(report.summary())
        shown = report.checked if passing_too else list(report.failing)
        partitions = [key_of[pid] for pid in shown]
        targets = latest_materializations(context.instance, spec.asset_key, partitions)
        yield from failure_results(spec, report, key_of, targets, passing_too)
        if len(key_of) > 1:
            yield run_summary(spec, report)


def recorded_results(
    context: dg.OpExecutionContext, reports: Mapping[str, QualityReport]
) -> Iterator[dg.AssetCheckEvaluation]:
    """The results the last step records once the run's assets are materialized: one on the
    process's own partition for each rule it fails, and one summary a check in a ranged run."""
    yield from _results(context, reports, GIFTING_CHECK_SPECS, passing_too=False)


@dg.multi_asset_check(
    specs=GIFTING_CHECK_SPECS,
    name="gifting_rules",
    description="Judge the selected processes by every rule, passing ones included.",
)
def gifting_rules(context: dg.OpExecutionContext, ivyi_db: IvyiDatabase):
    """The checks run on demand from the UI: a result for every selected process and rule."""
    ids = list(partition_keys_by_process(context))
    reports = quality.judge(ivyi_db.get_engine(), ids, as_of(context))
    selected = {key.name for key in context.selected_asset_check_keys}
    specs = [spec for spec in GIFTING_CHECK_SPECS if spec.name in selected]
    key_of = partition_keys_by_process(context)
    for spec in specs:
        report = reports[spec.name]
        judged = set(report.checked)
        yield from _results(context, {spec.name: report}, [spec], passing_too=True)
        for pid in ids:
            if pid not in judged:
                # Planned by this run: a result says why instead of the UI's "Skipped".
                yield partition_check_evaluation(
                    spec,
                    partition=key_of[pid],
                    passed=True,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=report.unjudged(),
                    metadata={"process_id": pid},
                    target=None,
                )
        # The results above are for partitions of a range; the op's outputs still need one.
        yield dg.Output(None, spec.get_python_identifier())
