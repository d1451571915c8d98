"""Rules, CRUD merges and JSON bodies as Mockoon CLI 9.9.0 answered them (checked side by side)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas import environment_from_obj
from schemas.environment import ResponseRule
from tests.conftest import make_env
from worker.jsvalues import js_json_parse, js_object_assign, json_stringify
from worker.request_model import RequestView, parse_body
from worker.responder import MockServer
from worker.rules import rule_matches
from worker.state import EnvironmentState


def _request(url: str = "/p/dog?x=1", method: str = "GET") -> RequestView:
    path, _, query = url.partition("?")
    return RequestView.build(method=method, path=path, original_url=url, query_string=query,
                             headers=[("host", "localhost")], body_text="", body=None)


@pytest.mark.parametrize("rule,expected", [
    # the path target is the URL with its query, and an empty route path (Mockoon 9.9 has no req.route)
    ({"target": "path", "value": "/p/dog"}, False),
    ({"target": "path", "value": "/p/dog?x=1"}, True),
    ({"target": "path", "value": ""}, True),
    ({"target": "path", "value": "fish$", "operator": "regex"}, False),
    ({"target": "method", "value": "get"}, True),
    # no target never matches (invert still applies); an unknown one finds nothing
    ({"target": "", "value": ""}, False),
    ({"target": "", "value": "", "invert": True}, True),
    ({"target": "nope", "modifier": "a", "value": "x"}, False),
    ({"target": "nope", "modifier": "a", "value": "", "operator": "null"}, True),
])
def test_rule_targets(rule: dict[str, Any], expected: bool) -> None:
    rule = {"modifier": "", "invert": False, "operator": "equals", **rule}
    parsed = ResponseRule(target=rule["target"], modifier=rule["modifier"], value=rule["value"],
                          invert=rule["invert"], operator=rule["operator"])
    assert rule_matches(parsed, _request(), EnvironmentState(), 1, lambda text: text) is expected


def test_json_objects_keep_javascript_key_order() -> None:
    assert list(js_json_parse('{"b":1,"10":2,"2":3,"01":4}')) == ["2", "10", "b", "01"]
    assert list(parse_body(b'{"z":1,"0":2}', "application/json")[1]) == ["0", "z"]
    assert json_stringify(js_object_assign([{"id": "x"}], {"merged": True})) == '{"0":{"id":"x"},"merged":true}'


def test_crud_patch_on_an_array_bucket_merges_like_object_assign() -> None:
    env, _ = environment_from_obj(make_env(
        [{"uuid": "c", "type": "crud", "method": "", "endpoint": "things",
          "responses": [{"uuid": "cr", "body": "", "bodyType": "DATABUCKET", "databucketID": "b", "default": True}]}],
        data=[{"uuid": "u", "id": "b", "name": "things", "value": '[{"id":"x"}]'}]))
    server = MockServer(env)
    view = RequestView.build(method="PATCH", path="/things", original_url="/things", query_string="",
                             headers=[("content-type", "application/json")], body_text='{"merged":true}',
                             body={"merged": True})
    assert server.handle(view).body == b'{"0":{"id":"x"},"merged":true}'
