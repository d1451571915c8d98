"""Deeply nested request bodies: answered as Mockoon answers them, with one log line, no traceback.

Mockoon CLI 9.9 (checked with the reference CLI on loopback): 100,000 ``[`` with no closing
bracket is not JSON, so the body stays text and the route answers as usual; so does a body
that does parse. Python's parser stops at its recursion limit, where the worker used to
fail with hypercorn's 500 and a traceback. Nesting past about 950 levels is served as
unparsed text, where Mockoon would still parse valid JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import make_env, start_worker, stop_worker
from worker.jsvalues import UNDEFINED
from worker.request_model import BodyTooDeep, parse_body

ROUTE = {"uuid": "r1", "type": "http", "method": "post", "endpoint": "deep",
         "responses": [{"uuid": "s1", "statusCode": 200, "body": "{\"got\": \"{{body 'a'}}\"}", "default": True},
                       {"uuid": "s2", "statusCode": 201, "body": "schema",
                        "rules": [{"target": "body", "modifier": "", "value": "schema", "invert": False,
                                   "operator": "valid_json_schema"}]}]}
BUCKET = {"uuid": "b1", "id": "schema", "name": "schema", "value": json.dumps({"type": "object"})}


def test_parse_body_says_when_nesting_is_too_deep() -> None:
    with pytest.raises(BodyTooDeep) as raised:
        parse_body(b"[" * 100_000, "application/json")
    assert raised.value.text == "[" * 100_000
    assert parse_body(b"[[1]]", "application/json") == ("[[1]]", [[1]])
    assert parse_body(b"[[1", "application/json") == ("[[1", UNDEFINED)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Any:
    started = start_worker(make_env([ROUTE], data=[BUCKET]), tmp_path_factory.mktemp("deep"), uds=True)
    yield started
    stop_worker(started)


@pytest.mark.parametrize("body", ["[" * 100_000, "{\"a\":" * 100_000, "[" * 100_000 + "]" * 100_000])
def test_deep_json_is_served_like_any_unparsed_body(worker: Any, body: str) -> None:
    status, headers, answer = worker.request("POST", "/deep", body=body, headers={"Content-Type": "application/json"})
    assert (status, answer) == (200, b'{"got": ""}')  # what mockoon-cli answers for the first two
    assert headers["content-type"] == "application/json; charset=utf-8"


def test_nesting_below_the_limit_still_parses_and_is_matched(worker: Any) -> None:
    for depth in (100, 400, 900):
        body = '{"a": "x", "b": ' + "[" * depth + "]" * depth + "}"
        status, _, answer = worker.request("POST", "/deep", body=body, headers={"Content-Type": "application/json"})
        assert (status, answer) == (201, b"schema"), depth  # parsed, validated against the bucket's schema


def test_one_line_per_deep_body_in_the_log_and_no_traceback(tmp_path_factory: pytest.TempPathFactory) -> None:
    worker = start_worker(make_env([ROUTE], data=[BUCKET]), tmp_path_factory.mktemp("deep-log"), uds=True)
    try:
        for _ in range(2):
            assert worker.request("POST", "/deep", body="[" * 100_000,
                                  headers={"Content-Type": "application/json"})[0] == 200
    finally:
        stop_worker(worker)
    assert worker.proc.stderr is not None
    log = worker.proc.stderr.read().decode()
    lines = [line for line in log.splitlines() if "nested too deeply" in line]
    assert len(lines) == 2 and "POST /deep" in lines[0], log[-2000:]
    assert "Traceback" not in log and "RecursionError" not in log, log[-2000:]
