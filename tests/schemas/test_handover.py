"""The worker hand-over: one Struct, framed so that older runtimes still find their options."""

from __future__ import annotations

import json

import pytest

from schemas import SchemaError, decode_environment
from schemas.handover import WorkerHandover, decode_handover, encode_handover
from schemas.repair import Repair
from tests.conftest import make_env

ROUTE = {"uuid": "a0000000-0000-4000-8000-000000000001", "method": "get", "endpoint": "x", "responses": [{}]}


def handover() -> WorkerHandover:
    env, _ = decode_environment(json.dumps(make_env([ROUTE])))
    return WorkerHandover(environment=env, disabled_routes=[ROUTE["uuid"]], admin_token="t", max_request_body_size=9,
                          public_base_url="https://m.example", repairs=[Repair(code="REPAIR_DEFAULT", path="$.x",
                                                                               message="m")])


def test_round_trip_keeps_the_environment_and_every_decision() -> None:
    original = handover()
    assert decode_handover(encode_handover(original)) == original


def test_the_first_line_is_the_options_runtimes_already_read() -> None:
    header, _, environment = encode_handover(handover()).partition(b"\n")
    assert json.loads(header)["adminToken"] == "t" and json.loads(header)["disabledRoutes"] == [ROUTE["uuid"]]
    assert json.loads(environment)["routes"][0]["uuid"] == ROUTE["uuid"]


@pytest.mark.parametrize("data,path", [
    (b'{"adminToken": "t"}', "$"),
    (b'{"disabledRoutes": "all"}\n{}', "$"),
    (b'{}\n{"routes": [{"method": "fetch"}]}', "$.routes[0].method"),
])
def test_a_malformed_hand_over_is_a_schema_error(data: bytes, path: str) -> None:
    with pytest.raises(SchemaError) as info:
        decode_handover(data)
    assert info.value.path == path
