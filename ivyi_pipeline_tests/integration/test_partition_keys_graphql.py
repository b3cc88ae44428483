"""Process partition keys as the UI lists and searches them: Dagster's GraphQL on a real instance.

Processes of ordinary occasion ids and of ids with commas, slashes, spaces, brackets and
unicode, two occurrences of one recurring occasion, run as one range; then the partition keys
the *Partitions* tab lists, filtered as its search box filters (case-insensitive substring).
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline.domain.partition_keys import KEY_CHARACTERS, parse_partition_key
from ivyi_pipeline.orchestration.partitions import partition_keys_for, process_ids_of
from ivyi_pipeline_tests.dagster_runs import execute_gifting_job
from ivyi_pipeline_tests.factories import make_gift, make_occasion, make_process

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 6, 15)
OCCURRENCES = [
    ("occ-in-10", DAY),
    ("occ-in-10", DAY.replace(year=2027)),  # the same yearly occasion, a year later
    ("occ-in-11", DAY),
    ("occ, one/two", DAY + dt.timedelta(days=1)),
    ("[β] ünïcødé", DAY + dt.timedelta(days=2)),
]
PARTITION_KEYS = """{ assetNodeOrError(assetKey: {path: ["gift_process_state"]}) {
  ... on AssetNode { partitionKeysByDimension { partitionKeys } } } }"""
MATERIALIZATION = """query Latest($key: String!) {
  assetOrError(assetKey: {path: ["gift_process_state"]}) { ... on Asset {
    assetMaterializations(partitions: [$key], limit: 1) {
      partition metadataEntries { label ... on TextMetadataEntry { text } } } } } }"""


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """The processes of OCCURRENCES run as one range; a GraphQL context on the instance."""
    home = tmp_path_factory.mktemp("partition_keys")
    url = f"sqlite:///{home / 'ivyi.db'}"
    upgrade(url)
    engine = get_engine(url)
    make_gift(engine, category="games", price_cents=2000)
    first_days: dict[str, dt.date] = {}
    for occasion_id, day in OCCURRENCES:
        first_days.setdefault(occasion_id, day)
    for occasion_id, day in first_days.items():
        make_occasion(engine, id=occasion_id, date=day, recurs_yearly=True)
    ids = [make_process(engine, occasion_id, day) for occasion_id, day in OCCURRENCES]
    (home / "dagster_home").mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVYI_DATABASE_URL", url)
        env.setenv("IVYI_HOME", str(home))
        with dg.instance_for_test(temp_dir=str(home / "dagster_home")) as instance:
            assert execute_gifting_job(instance, url, tuple(ids), AS_OF).success
            with define_out_of_process_context(
                str(REPO / "workspace.yaml"), None, instance
            ) as context:
                yield {"context": context, "keys": partition_keys_for(engine, ids)}
    engine.dispose()


def _query(context, query: str, **variables) -> dict:
    """One query as the webserver serves it: inside the request context it enters."""
    with context:
        result = execute_dagster_graphql(context, query, variables)
    assert not result.errors, result.errors
    return result.data


def _listed(context) -> list[str]:
    node = _query(context, PARTITION_KEYS)["assetNodeOrError"]
    (dimension,) = node["partitionKeysByDimension"]
    return dimension["partitionKeys"]


def _search(keys: list[str], typed: str) -> set[str]:
    """What the Partitions tab's search box keeps: a case-insensitive substring match."""
    return {key for key in keys if typed.lower().strip() in key.lower()}


def test_each_process_has_one_key_naming_its_occurrence(keyed):
    listed = _listed(keyed["context"])

    assert sorted(listed) == sorted(keyed["keys"].values())
    assert len(set(listed)) == len(OCCURRENCES)
    for pid, key in keyed["keys"].items():
        occurrence_date, occasion_id = parse_partition_key(key)
        assert (occasion_id, occurrence_date) in OCCURRENCES
        assert process_ids_of([key]) == [pid]
    assert keyed["keys"][process_ids_of(["2026-06-15.occ-in-10"])[0]] == "2026-06-15.occ-in-10"


def test_typing_an_occasion_id_or_a_date_finds_exactly_its_processes(keyed):
    listed = _listed(keyed["context"])

    assert _search(listed, "occ-in-10") == {"2026-06-15.occ-in-10", "2027-06-15.occ-in-10"}
    assert _search(listed, "OCC-IN-11") == {"2026-06-15.occ-in-11"}
    assert _search(listed, "2026-06-15") == {"2026-06-15.occ-in-10", "2026-06-15.occ-in-11"}
    assert _search(listed, "2027") == {"2027-06-15.occ-in-10"}


def test_keys_hold_only_characters_safe_for_ranges_lists_and_urls(keyed):
    listed = _listed(keyed["context"])

    for key in listed:
        assert set(key) <= KEY_CHARACTERS, key
        for reserved in (",", "|", "[", "]", "...", "/", " "):
            assert reserved not in key
    assert "2026-06-16.occ~2c~~20~one~2f~two" in listed
    assert "2026-06-17.~5b~~3b2~~5d~~20~~fc~n~ef~c~f8~d~e9~" in listed


def test_a_partition_page_reads_its_process_and_occasion(keyed):
    context = keyed["context"]
    pid = process_ids_of(["2026-06-16.occ~2c~~20~one~2f~two"])[0]
    key = keyed["keys"][pid]

    (latest,) = _query(context, MATERIALIZATION, key=key)["assetOrError"]["assetMaterializations"]

    entries = {e["label"]: e.get("text") for e in latest["metadataEntries"]}
    assert latest["partition"] == key
    assert entries["process_id"] == pid
    assert entries["occasion_id"] == "occ, one/two"
