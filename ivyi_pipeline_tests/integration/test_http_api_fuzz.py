"""schemathesis against `ivyi serve`'s own OpenAPI document, through the real server: no 5xx,
and every answer (status, content type, headers, body) is one the document declares."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from benchmarks.api_server import ivyi_serve
from ivyi_pipeline.db.engine import get_engine
from ivyi_pipeline.db.migrate import upgrade
from ivyi_pipeline_tests.api_scenes import SERVER_AS_OF, open_windows
from ivyi_pipeline_tests.factories import make_gift

EXAMPLES_PER_OPERATION = 40
"""Bounded: 6 operations x 40 examples, valid and invalid ones, in about 20 s here."""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api_fuzz")
    url = f"sqlite:///{folder / 'ivyi.db'}"
    upgrade(url)
    make_gift(get_engine(url), category="books", price_cents=2500)
    open_windows(get_engine(url))
    with ivyi_serve(url, folder / "serve.log", as_of=SERVER_AS_OF) as api:
        yield api
    get_engine(url).dispose()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]


def test_the_api_answers_every_generated_request_as_its_openapi_document_says(served):
    schema = schemathesis.openapi.from_url(
        f"{served.base}/openapi.json", headers={"Authorization": f"Bearer {served.token}"}
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6

    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def answers_as_documented(case):
            case.call_and_validate(
                headers={"Authorization": f"Bearer {served.token}"}, checks=CHECKS
            )

        answers_as_documented()
