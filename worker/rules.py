"""Choose the response of a route: response modes and the response-rules interpreter.

Pure over its inputs (request view, state, a render function, a random source) so it is
tested without sockets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.environment import ResponseRule, Route, RouteResponse

from .json_schema import matches_schema
from .jsvalues import UNDEFINED, to_string
from .request_model import JSON_TYPES, XML_TYPES, RequestView
from .state import EnvironmentState
from .templating.helpers.paths import get_value_from_path, object_path_get, split_object_path
from .templating.regex_guard import safe_regex

Render = Callable[[str], str]

_PARSED_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _body_target(request: RequestView) -> Any:
    content_type = (request.header("content-type") or "").lower()
    parsed = content_type and (JSON_TYPES.search(content_type) or any(t in content_type for t in (*_PARSED_TYPES, *XML_TYPES)))
    if parsed and request.body is not UNDEFINED:
        return request.body
    return request.body_text


def _rule_value(rule: ResponseRule, request: RequestView, state: EnvironmentState, request_number: int, render: Render,
                whole_message: bool = False) -> Any:
    modifier = render(rule.modifier or "")
    target = rule.target
    if not target:
        return _NO_MATCH  # Mockoon: a rule without a target never matches (before invert)
    if target == "request_number":
        return request_number
    if target == "cookie":
        return request.cookies.get(modifier, UNDEFINED) if modifier else _NO_MATCH
    if target == "path":
        # Mockoon 9.9 matches in one middleware, where Express has no req.route: the path target is
        # the request URL (query included) and an empty route path
        return [request.original_url, ""]
    if target == "method":
        return request.method.lower()
    if target == "header":
        return (request.header(modifier) if modifier else "") or (UNDEFINED if modifier else "")
    if target == "templating":
        return modifier
    sources = {
        "body": lambda: _body_target(request),
        "query": lambda: request.query,
        "params": lambda: request.params,
        "global_var": lambda: state.global_vars,
        "data_bucket": lambda: {**{b.id: b.value for b in state.buckets}, **{b.name: b.value for b in state.buckets}},
    }
    if modifier:
        source = sources.get(target)
        return get_value_from_path(source(), modifier, UNDEFINED) if source else UNDEFINED
    if target == "body":
        if whole_message:  # a WebSocket message is compared as received, whatever the operator
            return request.body_text
        return request.body_text if rule.operator in ("equals", "regex", "regex_i") else _body_target(request)
    if target == "query":
        return request.query
    return UNDEFINED


_NO_MATCH: Any = object()


def _string(value: Any) -> str:
    if isinstance(value, (dict, list)) and not isinstance(value, list):
        return "[object Object]"
    return to_string(value)


def rule_matches(rule: ResponseRule, request: RequestView, state: EnvironmentState, request_number: int, render: Render,
                 whole_message: bool = False) -> bool:
    value = _rule_value(rule, request, state, request_number, render, whole_message)
    if value is _NO_MATCH:
        result = False
    else:
        result = _evaluate(rule, value, state, render)
    return not result if rule.invert else result


def _evaluate(rule: ResponseRule, value: Any, state: EnvironmentState, render: Render) -> bool:
    operator = rule.operator
    if operator == "null":
        return value is None or value is UNDEFINED or value == ""
    if operator == "empty_array":
        return isinstance(value, list) and not value
    if value is UNDEFINED:
        return False
    if value is None:
        value = ""
    expected = render(rule.value or "")
    if operator == "valid_json_schema":
        buckets = {**{b.id: b.value for b in state.buckets}, **{b.name: b.value for b in state.buckets}}
        schema = object_path_get(buckets, split_object_path(rule.value))
        if not isinstance(schema, (dict, bool)) or schema is UNDEFINED:
            return False
        return matches_schema(value, schema)
    if operator == "array_includes" and rule.modifier:
        return isinstance(value, list) and any(to_string(v) == expected for v in value)
    if operator in ("regex", "regex_i"):
        pattern = safe_regex(expected, ignore_case=operator == "regex_i")
        if pattern is None:
            return False
        if isinstance(value, list):
            return any(pattern.search(_string(v)) for v in value)
        return pattern.search(_string(value))
    if isinstance(value, list):
        return expected in [to_string(v) for v in value]
    return _string(value) == expected


def choose_response(route: Route, request: RequestView, state: EnvironmentState, request_number: int,
                    render: Render, random_index: Callable[[int], int], whole_message: bool = False) -> RouteResponse | None:
    """The response to serve, or None in FALLBACK mode when no rule matched."""
    responses = route.responses
    if not responses:
        return None
    default = next((r for r in responses if r.default), responses[0])
    mode = route.response_mode
    if mode == "RANDOM":
        return responses[random_index(len(responses))]
    if mode == "SEQUENTIAL":
        return responses[(request_number - 1) % len(responses)]
    if mode == "DISABLE_RULES":
        return default
    for response in responses:
        if not response.rules:
            continue
        checks = (rule_matches(rule, request, state, request_number, render, whole_message) for rule in response.rules)
        if all(checks) if response.rules_operator == "AND" else any(checks):
            return response
    if mode == "FALLBACK":
        return None
    return default

