"""Decoding: path-named errors, refusal of non-environments, round trips, a property test."""

from __future__ import annotations

import json
import time

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import (
    HIGHEST_MIGRATION,
    SchemaError,
    UnsupportedSchemaVersion,
    decode_environment,
    encode_environment,
)
from tests.conftest import CONFORMANCE, make_env

RESPONSE = {"uuid": "b0000000-0000-4000-8000-000000000001", "body": "{}", "latency": 0, "statusCode": 200,
            "label": "", "headers": [], "bodyType": "INLINE", "filePath": "", "databucketID": "",
            "sendFileAsBody": False, "rules": [], "rulesOperator": "OR", "disableTemplating": False,
            "fallbackTo404": False, "default": True, "crudKey": "id", "callbacks": []}


def test_strict_error_names_the_json_path() -> None:
    data = make_env([{"uuid": "a0000000-0000-4000-8000-000000000001", "type": "http", "documentation": "",
                      "method": "get", "endpoint": "", "responseMode": None, "streamingMode": None,
                      "streamingInterval": 0, "responses": [{**RESPONSE, "statusCode": "OK"}]}])
    with pytest.raises(SchemaError) as info:
        decode_environment(json.dumps(data), strict=True)
    assert str(info.value).startswith(
        '$.routes[0].responses[0].statusCode: "OK" is not a number from 100 to 999: replaced by 200')
    env, report = decode_environment(json.dumps(data))
    assert env.routes[0].responses[0].status_code == 200 and report.repairs[0].path == info.value.path


@pytest.mark.parametrize("payload,reason", [
    (b'{"openapi": "3.0.0", "paths": {}}', "OpenAPI"),
    (b"[1, 2]", "got array"),
    (b"\x00\xff garbage", "not valid JSON"),
    (b'{"name": "x"}', "not a Mockoon environment"),
    (b'{"lastMigration": 99, "routes": []}', f"newer than the newest supported schema {HIGHEST_MIGRATION}"),
])
def test_not_an_environment_is_refused_clearly(payload: bytes, reason: str) -> None:
    with pytest.raises(SchemaError, match=reason):
        decode_environment(payload)


def test_huge_string_is_refused_fast() -> None:
    payload = b'"' + b"a" * (50 * 1024 * 1024) + b'"'
    started = time.monotonic()
    with pytest.raises(SchemaError, match="larger than"):
        decode_environment(payload)
    assert time.monotonic() - started < 1


def test_newer_schema_names_both_versions() -> None:
    with pytest.raises(UnsupportedSchemaVersion) as info:
        decode_environment(b'{"lastMigration": 40, "routes": []}')
    assert info.value.found == 40 and info.value.highest == 33


def test_conformance_environments_round_trip() -> None:
    cases = sorted((CONFORMANCE / "cases").glob("*.json"))
    if not cases:
        pytest.skip("shared/conformance is not beside this checkout")
    for case in cases:
        original = json.loads(case.read_text())["environment"]
        env, _ = decode_environment(json.dumps(original))
        again, _ = decode_environment(encode_environment(env))
        assert again == env
        encoded = json.loads(encode_environment(env))
        for key in ("uuid", "lastMigration", "routes", "rootChildren", "tlsOptions", "headers", "data"):
            assert encoded[key] == original[key], (case.name, key)


def test_missing_fields_take_mockoon_defaults() -> None:
    env, _ = decode_environment(b'{"lastMigration": 33, "routes": [{"responses": [{}]}]}')
    response = env.routes[0].responses[0]
    assert (response.status_code, response.body, response.crud_key, response.rules_operator) == (200, "{}", "id", "OR")
    assert env.cors is True and env.port == 3000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["routes", "responses", "lastMigration", "statusCode", "rules", "headers", "data", "folders",
                         "endpoint", "method", "uuid", "body", "x"]), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_decoder_raises_only_schema_errors(value: object) -> None:
    try:
        decode_environment(msgspec.json.encode(value))
    except SchemaError:
        pass


def test_nesting_past_the_depth_limit_is_a_schema_error_with_its_path() -> None:
    from schemas.decode import MAX_ENVIRONMENT_DEPTH, check_depth, load_json

    check_depth({"a": [{"b": []}]}, limit=4)
    with pytest.raises(SchemaError) as raised:
        check_depth({"a": [{"b": [[[]]]}]}, limit=4)
    assert raised.value.path == "$.a[0].b[0]" and "deeper than the 4 levels allowed" in raised.value.reason
    for depth in (MAX_ENVIRONMENT_DEPTH + 1, 100_000):  # msgspec's own recursion ends the second
        with pytest.raises(SchemaError, match=f"deeper than the {MAX_ENVIRONMENT_DEPTH} levels"):
            load_json(b'{"routes": ' + b"[" * depth + b"]" * depth + b"}")
