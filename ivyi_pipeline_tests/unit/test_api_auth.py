"""The HTTP API's checks of who calls: bearer tokens among several, carriers' HMAC signatures."""

import pytest

from ivyi_pipeline.api.auth import check_bearer, check_signature, signature_of, token_is_known
from ivyi_pipeline.api.config import ApiConfig
from ivyi_pipeline.api.errors import ApiError
from ivyi_pipeline.errors import EnvironmentProblem

TOKENS = ("a" * 40, "b" * 40)
SECRETS = ("old-secret-" * 4, "new-secret-" * 4)
BODY = b'{"order_id":"SIM-1","event":"shipped","occurred_at":"2026-06-01T12:00:00Z"}'


def test_any_configured_token_is_known_and_nothing_else_is():
    assert token_is_known("a" * 40, TOKENS)
    assert token_is_known("b" * 40, TOKENS)
    for wrong in ("a" * 39, "a" * 41, "", "ä" * 40, "b" * 40 + "\x00"):
        assert not token_is_known(wrong, TOKENS)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic " + "a" * 40, "Bearer " + "c" * 40])
def test_a_request_without_a_known_bearer_token_is_refused_naming_authorization(header):
    with pytest.raises(ApiError) as refused:
        check_bearer(header, TOKENS)

    assert (refused.value.status, refused.value.field) == (401, "Authorization")


def test_a_signature_by_either_secret_within_the_tolerance_is_accepted():
    for secret in SECRETS:
        for skew in (-300, 0, 300):
            stamp = str(1_000_000 + skew)
            signature = "sha256=" + signature_of(secret, stamp, BODY)
            check_signature(signature, stamp, BODY, SECRETS, 300, now=1_000_000)


@pytest.mark.parametrize(
    ("stamp", "signature", "code", "field"),
    [
        ("999699", None, "stale_signature", "Ivyi-Timestamp"),
        ("1000301", None, "stale_signature", "Ivyi-Timestamp"),
        ("1000000", "sha256=" + "0" * 64, "bad_signature", "Ivyi-Signature"),
        ("1000000", "", "bad_signature", "Ivyi-Signature"),
        ("", None, "bad_signature", "Ivyi-Timestamp"),
        ("1e6", None, "bad_signature", "Ivyi-Timestamp"),
    ],
)
def test_a_stale_malformed_or_wrong_signature_is_refused(stamp, signature, code, field):
    if signature is None:
        signature = "sha256=" + signature_of(SECRETS[0], stamp, BODY)

    with pytest.raises(ApiError) as refused:
        check_signature(signature, stamp, BODY, SECRETS, 300, now=1_000_000)

    assert (refused.value.status, refused.value.code, refused.value.field) == (401, code, field)


def test_a_signature_covers_the_timestamp_and_every_byte_of_the_body():
    stamp = "1000000"
    signature = "sha256=" + signature_of(SECRETS[0], stamp, BODY)
    for body, when in ((BODY + b" ", stamp), (BODY, "1000001")):
        with pytest.raises(ApiError):
            check_signature(signature, when, body, SECRETS, 300, now=1_000_000)


def test_the_server_refuses_missing_or_short_tokens_and_secrets(monkeypatch):
    monkeypatch.setenv("IVYI_API_TOKENS", f"{'t' * 40}, {'u' * 32}")
    monkeypatch.setenv("IVYI_CARRIER_WEBHOOK_SECRETS", "s" * 40)
    config = ApiConfig.from_env("sqlite://")
    assert (config.tokens, config.webhook_secrets) == (("t" * 40, "u" * 32), ("s" * 40,))

    refusals = [
        ("IVYI_API_TOKENS", f"{'t' * 40},short", "secret number 2 is shorter than 32"),
        ("IVYI_API_TOKENS", " , ", "IVYI_API_TOKENS is not set"),
        ("IVYI_CARRIER_WEBHOOK_SECRETS", "", "IVYI_CARRIER_WEBHOOK_SECRETS is not set"),
    ]
    for variable, value, fragment in refusals:
        with monkeypatch.context() as env:
            env.setenv(variable, value)
            with pytest.raises(EnvironmentProblem, match=fragment):
                ApiConfig.from_env("sqlite://")
