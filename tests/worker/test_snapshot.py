"""Snapshots of a worker's state, and the state size cap: pure functions, no process."""

from __future__ import annotations

import json

import pytest

from schemas import decode_environment
from tests.conftest import make_env
from worker.jsvalues import UNDEFINED, SafeString
from worker.request_model import RequestView
from worker.responder import MockServer
from worker.snapshot import (
    SnapshotError,
    decode_state,
    decode_value,
    encode_state,
    encode_value,
    restore,
    value_size,
)
from worker.state_budget import StateBudget, StateFull

ENV = make_env([
    {"uuid": "a0000000-0000-4000-8000-000000000001", "type": "crud", "method": "", "endpoint": "users",
     "responses": [{"uuid": "a0000000-0000-4000-8000-000000000002", "bodyType": "DATABUCKET", "databucketID": "users",
                    "default": True}]},
    {"uuid": "a0000000-0000-4000-8000-000000000003", "type": "http", "method": "get", "endpoint": "set",
     "responses": [{"uuid": "a0000000-0000-4000-8000-000000000004", "default": True,
                    "body": "{{setGlobalVar 'g' (queryParam 'v')}}{{setData 'push' 'users' '' (queryParam 'v')}}ok"}]},
], data=[{"uuid": "a0000000-0000-4000-8000-000000000005", "id": "users", "name": "Users", "documentation": "",
          "value": '[{"id": 1}]'}])


def server() -> MockServer:
    env, _ = decode_environment(json.dumps(ENV))
    return MockServer(env)


def call(srv: MockServer, method: str, path: str, body: str = "") -> tuple[int, bytes]:
    target, _, query = path.partition("?")
    view = RequestView.build(method=method, path=target, original_url=path, query_string=query,
                             headers=[("content-type", "application/json")], body_text=body,
                             body=json.loads(body) if body else UNDEFINED, ip="", scheme="http", port=3000,
                             prefix="", public_base_url="")
    result = srv.handle(view)
    return result.status, result.body


@pytest.mark.parametrize("value", [
    UNDEFINED, None, True, 1.5, float("inf"), 2**70, -(2**64), "text", SafeString("<b>"),
    {"nested": [1, UNDEFINED, {"big": 2**80}, SafeString("x")]}, [],
])
def test_javascript_values_round_trip(value: object) -> None:
    back = decode_value(encode_value(value))
    assert back == value or back is value
    assert type(back) is type(value)


def test_a_value_inside_itself_cannot_be_saved_and_is_said_so() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(SnapshotError, match="cannot be saved"):
        encode_value(loop)
    assert value_size(loop) == 0  # the write is not refused for it; the snapshot reports it


def test_state_round_trips_into_a_fresh_server() -> None:
    first = server()
    assert call(first, "POST", "/users", '{"name": "added"}')[0] == 201
    assert call(first, "GET", "/set?v=7") == (200, b"ok")
    first.state.env_var_writes["MOCKOON_COLOUR"] = "blue"
    first.state.buckets[0].value.append(UNDEFINED)
    data = encode_state(first.state)

    second = server()
    env_vars: dict[str, str] = {}
    restore(second.state, decode_state(data), env_vars)
    assert second.state.buckets[0].value == [{"id": 1}, {"name": "added", "id": 2}, "7", UNDEFINED]
    assert second.state.global_vars == {"g": "7"}
    assert second.state.request_numbers == first.state.request_numbers
    assert env_vars == second.state.env_var_writes == {"MOCKOON_COLOUR": "blue"}


def test_buckets_the_environment_no_longer_has_are_ignored_and_new_ones_keep_their_value() -> None:
    first = server()
    call(first, "POST", "/users", '{"name": "added"}')
    saved = decode_state(encode_state(first.state))
    saved.buckets[0].uuid, saved.buckets[0].id = "gone", "gone"
    second = server()
    restore(second.state, saved, {})
    assert second.state.buckets[0].value == [{"id": 1}]


def test_an_unreadable_snapshot_is_a_snapshot_error() -> None:
    with pytest.raises(SnapshotError):
        decode_state(b"\xc1not msgpack")


def test_budget_counts_writes_and_measures_only_near_the_cap() -> None:
    measured: list[int] = []

    def measure() -> int:
        measured.append(1)
        return 40

    budget = StateBudget(100, len, measure, base=40)
    budget.reserve("x" * 30)  # 40 + 30 <= 100: no measure
    assert (budget.base, budget.written, measured) == (40, 30, [])
    budget.reserve("y" * 50)  # 40 + 30 + 50 > 100: measure (40, the first write replaced something) and allow
    assert (budget.base, budget.written, len(measured)) == (40, 50, 1)
    with pytest.raises(StateFull) as refused:
        budget.reserve("z" * 61)  # 40 + 61 > 100 even measured
    assert refused.value.status == 507 and "100 bytes" in str(refused.value)
    assert budget.base + budget.written <= 100 + 50  # the refused write was not counted
    budget.settle(10)
    budget.reserve("z" * 61)
    assert (budget.base, budget.written) == (10, 61)


def test_writes_over_the_cap_are_answered_507_and_change_nothing() -> None:
    srv = server()
    srv.state.budget = StateBudget(200, value_size, lambda: len(encode_state(srv.state)),
                                   base=len(encode_state(srv.state)))
    assert call(srv, "POST", "/users", '{"name": "fits"}')[0] == 201
    status, body = call(srv, "POST", "/users", json.dumps({"name": "x" * 300}))
    assert status == 507 and "state size cap" in json.loads(body)["message"]
    status, body = call(srv, "GET", "/set?v=" + "y" * 300)  # setGlobalVar in a template
    assert status == 507
    assert srv.state.buckets[0].value == [{"id": 1}, {"name": "fits", "id": 2}]
    assert "g" not in srv.state.global_vars
