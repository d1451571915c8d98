"""Catastrophic regexes in rules and JSON schemas against 100 KB bodies: a real worker answers in time.

With Python's ``re`` each of these held the worker for minutes; matched by RE2 they take
milliseconds, and the worker goes on serving."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import make_env

PATTERNS = ["^((a+))+$", "a*a*a*a*a*a*b", "(a|a)*", "(a?){30}a{30}"]
BODY = "a" * 100_000 + "!"
BOUND = 3.0  # seconds for the whole exchange, start-up of a request included


def _env() -> dict[str, Any]:
    # one response per pattern, chosen by the path parameter, so each request runs one pattern
    regex_route = {"uuid": "r-regex", "type": "http", "method": "post", "endpoint": "regex/:n",
                   "responses": [*({"uuid": f"s{i}", "statusCode": 201, "body": f"rule {i}",
                                    "rules": [{"target": "params", "modifier": "n", "value": str(i), "invert": False,
                                               "operator": "equals"},
                                              {"target": "body", "modifier": "", "value": pattern, "invert": False,
                                               "operator": "regex"}],
                                    "rulesOperator": "AND"} for i, pattern in enumerate(PATTERNS)),
                                 {"uuid": "s-default", "statusCode": 200, "body": "none", "default": True}]}
    schema_route = {"uuid": "r-schema", "type": "http", "method": "post", "endpoint": "schema/:n",
                    "responses": [*({"uuid": f"j{i}", "statusCode": 201, "body": f"schema {i}",
                                     "rules": [{"target": "params", "modifier": "n", "value": str(i), "invert": False,
                                                "operator": "equals"},
                                               {"target": "body", "modifier": "", "value": f"schema{i}",
                                                "invert": False, "operator": "valid_json_schema"}],
                                     "rulesOperator": "AND"} for i in range(len(PATTERNS))),
                                  {"uuid": "j-default", "statusCode": 200, "body": "invalid", "default": True}]}
    buckets = [{"uuid": f"b{i}", "id": f"schema{i}", "name": f"schema{i}",
                "value": json.dumps({"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}})}
               for i, pattern in enumerate(PATTERNS)]
    return make_env([regex_route, schema_route], data=buckets)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import start_worker, stop_worker

    started = start_worker(_env(), tmp_path_factory.mktemp("hostile"), uds=True)
    yield started
    stop_worker(started)


# on "a" * 100_000 + "!": the anchored pattern and the one needing a "b" fail, the other two match
EXPECTED = {0: b"none", 1: b"none", 2: b"rule 2", 3: b"rule 3"}


@pytest.mark.parametrize("index", range(len(PATTERNS)))
def test_rule_regex_on_a_100_kb_body_answers_in_time(worker: Any, index: int) -> None:
    started = time.monotonic()
    status, _, body = worker.request("POST", f"/regex/{index}", body=BODY, headers={"Content-Type": "text/plain"})
    assert time.monotonic() - started < BOUND
    assert body == EXPECTED[index] and status == (200 if body == b"none" else 201)


def test_rule_regexes_still_match(worker: Any) -> None:
    status, _, body = worker.request("POST", "/regex/0", body="a" * 100_000, headers={"Content-Type": "text/plain"})
    assert (status, body) == (201, b"rule 0")  # ^((a+))+$ matches a subject of a's only
    status, _, body = worker.request("POST", "/regex/1", body="a" * 1000 + "b", headers={"Content-Type": "text/plain"})
    assert (status, body) == (201, b"rule 1")


@pytest.mark.parametrize("index", range(len(PATTERNS)))
def test_json_schema_pattern_on_a_100_kb_string_answers_in_time(worker: Any, index: int) -> None:
    started = time.monotonic()
    status, _, body = worker.request("POST", f"/schema/{index}", body=json.dumps({"s": BODY}),
                                     headers={"Content-Type": "application/json"})
    assert time.monotonic() - started < BOUND
    expected = {0: b"invalid", 1: b"invalid", 2: b"schema 2", 3: b"schema 3"}[index]  # as EXPECTED
    assert body == expected and status == (201 if expected != b"invalid" else 200)
