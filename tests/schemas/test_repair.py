"""Repair as Mockoon does it: Mockoon's own broken fixtures, hand-made cases, a differential test
against Mockoon 9.9's commons (when node and the package are present), and strict validation."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest

from schemas import HIGHEST_MIGRATION, SchemaError, decode_environment, encode_environment
from schemas.errors import NeedsRepair
from schemas.repair import repair_environment

FIXTURES = Path(__file__).parent / "fixtures"
MOCKOON_COMMONS = Path("/work/main/.bench/node/node_modules/@mockoon/commons")
HARNESS = Path(__file__).parent / "mockoon_repair.js"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def load(env: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    decoded, report = decode_environment(json.dumps(env))
    return json.loads(encode_environment(decoded)), report


def paths(report: Any) -> list[str]:
    return [r.path for r in report.repairs]


# --- Mockoon's own fixtures ------------------------------------------------------------------


def test_schema_broken_takes_defaults_like_mockoons_app_test() -> None:
    """The expectations of Mockoon's schema-validation.spec.ts, 'Environments broken schema'."""
    env, report = load(fixture("schema-broken"))
    response = env["routes"][0]["responses"][0]
    assert UUID.match(env["routes"][0]["uuid"])
    assert env["name"] == "New environment"
    assert response["rulesOperator"] == "OR" and response["statusCode"] == 200 and response["body"] == ""
    assert response["rules"][1]["target"] == "body"
    assert response["headers"] == [{"key": "", "value": ""}, {"key": "Content-Type", "value": "application/json"}]
    assert paths(report) == [
        "$.routes[0].uuid", "$.routes[0].responses[0].statusCode", "$.routes[0].responses[0].headers[0]",
        "$.routes[0].responses[0].rules[1].target", "$.routes[0].responses[0].rulesOperator", "$",
        "$.rootChildren[0]", "$.routes[0]",
    ]
    assert "99 is not a number from 100 to 999: replaced by 200" in report.repairs[1].message
    # the route's new uuid is what rootChildren lists now; the old reference is gone
    assert env["rootChildren"] == [{"type": "route", "uuid": env["routes"][0]["uuid"]}]


def test_schema_broken_refs_drops_dangling_references_and_attaches_orphans() -> None:
    env, report = load(fixture("schema-broken-refs"))
    assert env["folders"][0]["children"] == []
    assert env["folders"][1]["children"] == [{"type": "route", "uuid": "8c7ee6e8-b0a8-4373-8b1f-727e40496327"}]
    assert env["rootChildren"] == [
        {"type": "folder", "uuid": "4a8cd2a2-7eb2-43ab-9421-5cb0937a993d"},
        {"type": "route", "uuid": "e3b389f4-e9b4-4cdd-92d7-fcb222a23542"},
        {"type": "folder", "uuid": "43943472-0116-4fa6-aeda-2d02250118f3"},
        {"type": "route", "uuid": "e636fcf1-99f1-48d1-a9ec-313cc169a87e"},
    ]
    assert [(r.code, r.path) for r in report.repairs] == [
        ("REPAIR_DROP", "$.folders[0].children[0]"), ("REPAIR_DROP", "$.folders[0].children[1]"),
        ("REPAIR_DROP", "$.rootChildren[0]"), ("REPAIR_DROP", "$.rootChildren[1]"),
        ("REPAIR_ATTACH", "$.folders[0]"), ("REPAIR_ATTACH", "$.routes[0]"),
    ]
    assert report.repairs[0].message == 'folder "unknownuuid" does not exist: reference dropped'


def test_schema_broken_repair_survives_a_failed_migration() -> None:
    """No routes at schema 13: Mockoon's migration 14 throws, the schema fills in the rest."""
    env, report = load(fixture("schema-broken-repair"))
    assert env["lastMigration"] == HIGHEST_MIGRATION and env["routes"] == [] and env["rootChildren"] == []
    assert env["proxyMode"] is True and env["hostname"] == "0.0.0.0"  # later migrations never ran
    assert env["tlsOptions"]["enabled"] is False
    assert report.repairs[0].code == "REPAIR_MIGRATION" and "migration 14" in report.repairs[0].message
    assert report.repairs[1].path == "$" and "routes" in report.repairs[1].message


# --- hand-made cases -------------------------------------------------------------------------

ROUTE = {"uuid": "a0000000-0000-4000-8000-000000000001", "type": "http", "documentation": "", "method": "get",
         "endpoint": "x", "responses": [], "responseMode": None, "streamingMode": None, "streamingInterval": 0}


def current(**fields: Any) -> dict[str, Any]:
    env: dict[str, Any] = {"uuid": "e0000000-0000-4000-8000-000000000000", "lastMigration": 33, "name": "n",
                           "endpointPrefix": "", "latency": 0, "port": 3000, "hostname": "", "folders": [],
                           "routes": [copy.deepcopy(ROUTE)], "rootChildren": [{"type": "route", "uuid": ROUTE["uuid"]}],
                           "proxyMode": False, "proxyHost": "", "proxyRemovePrefix": False,
                           "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "",
                                          "keyPath": "", "caPath": "", "passphrase": ""},
                           "cors": True, "headers": [], "proxyReqHeaders": [], "proxyResHeaders": [], "data": [],
                           "callbacks": []}
    env.update(fields)
    return env


def test_a_complete_current_environment_needs_no_repair() -> None:
    _, repairs = repair_environment(current(), HIGHEST_MIGRATION)
    assert repairs == []


@pytest.mark.parametrize("route_fields,path,kept", [
    ({"method": "GRAB"}, "$.routes[0].method", ("method", "get")),
    ({"type": "grpc"}, "$.routes[0].type", ("type", "http")),
    ({"responseMode": "LOUD"}, "$.routes[0].responseMode", ("responseMode", None)),
    ({"streamingInterval": -1}, "$.routes[0].streamingInterval", ("streamingInterval", 0)),
    ({"endpoint": 12}, "$.routes[0].endpoint", ("endpoint", "")),
    ({"responses": "none"}, "$.routes[0].responses", ("responses", [])),
])
def test_invalid_values_fall_back_to_defaults(route_fields: dict[str, Any], path: str, kept: tuple[str, Any]) -> None:
    env = current()
    env["routes"][0].update(route_fields)
    repaired, repairs = repair_environment(env, HIGHEST_MIGRATION)
    assert [r.path for r in repairs] == [path] and repairs[0].code == "REPAIR_DEFAULT"
    assert repaired["routes"][0][kept[0]] == kept[1]


def test_numbers_in_strings_are_accepted_silently_as_mockoon_does() -> None:
    env = current(port="3001", latency=" 5 ")
    repaired, repairs = repair_environment(env, HIGHEST_MIGRATION)
    assert (repaired["port"], repaired["latency"], repairs) == (3001, 5, [])


def test_fractions_are_rounded_down_with_a_warning() -> None:
    repaired, repairs = repair_environment(current(latency=2.5), HIGHEST_MIGRATION)
    assert repaired["latency"] == 2 and [(r.code, r.path) for r in repairs] == [("REPAIR_ROUND", "$.latency")]


def test_items_that_cannot_be_repaired_are_dropped() -> None:
    env = current()
    env["rootChildren"].append({"type": "bucket", "uuid": ROUTE["uuid"]})
    env["routes"][0]["responses"] = [{"callbacks": [{"uuid": "c0000000-0000-4000-8000-000000000000", "latency": "soon"}]}]
    repaired, repairs = repair_environment(env, HIGHEST_MIGRATION)
    assert repaired["rootChildren"] == [{"type": "route", "uuid": ROUTE["uuid"]}]
    assert repaired["routes"][0]["responses"][0]["callbacks"] == []
    assert ("REPAIR_DROP", "$.rootChildren[1]") in [(r.code, r.path) for r in repairs]
    assert ("REPAIR_DROP", "$.routes[0].responses[0].callbacks[0]") in [(r.code, r.path) for r in repairs]


def test_a_route_listed_twice_keeps_its_first_place() -> None:
    env = current(folders=[{"uuid": "f0000000-0000-4000-8000-000000000000", "name": "f",
                            "children": [{"type": "route", "uuid": ROUTE["uuid"]}]}])
    env["rootChildren"].append({"type": "folder", "uuid": "f0000000-0000-4000-8000-000000000000"})
    repaired, repairs = repair_environment(env, HIGHEST_MIGRATION)
    assert repaired["rootChildren"] == [{"type": "folder", "uuid": "f0000000-0000-4000-8000-000000000000"}]
    assert [(r.path, r.message) for r in repairs] == [
        ("$.rootChildren[0]", f'route "{ROUTE["uuid"]}" is listed already: reference dropped')]


def test_non_objects_in_arrays_become_default_objects() -> None:
    env = current(headers=[None, {"key": "A", "value": "1", "extra": True}], routes=[7], rootChildren=[])
    repaired, repairs = repair_environment(env, HIGHEST_MIGRATION)
    assert repaired["headers"] == [{"key": "", "value": ""}, {"key": "A", "value": "1"}]
    assert repaired["routes"][0]["method"] == "get" and UUID.match(repaired["routes"][0]["uuid"])
    assert [r.path for r in repairs] == ["$.routes[0]", "$.headers[0]", "$.routes[0]"]


@pytest.mark.parametrize("payload,reason", [
    (b"[]", "expected a Mockoon environment object, got array"),
    (b'"env"', "got str"),
    (b"{", "not valid JSON"),
    (b'{"lastMigration": "34"}', "newer than the newest supported schema"),
])
def test_what_cannot_be_repaired_is_still_refused(payload: bytes, reason: str) -> None:
    with pytest.raises(SchemaError, match=reason) as info:
        decode_environment(payload)
    assert info.value.path in ("$", "$.lastMigration")


def test_an_unreadable_schema_version_is_repaired_without_migrating() -> None:
    env, report = load(current(lastMigration="recent"))
    assert env["lastMigration"] == HIGHEST_MIGRATION and paths(report) == ["$.lastMigration"]


def test_strict_loading_names_every_path_it_would_repair() -> None:
    with pytest.raises(NeedsRepair) as info:
        decode_environment(json.dumps(fixture("schema-broken")), strict=True)
    assert info.value.path == "$.routes[0].uuid"
    assert len(info.value.repairs) == 8 and "(and 7 more)" in str(info.value)
    decode_environment(json.dumps(current()), strict=True)


def test_disabled_routes_only_name_routes_that_still_exist() -> None:
    """schema-broken disables route "non-uuid" (enabled: null), whose uuid the repair replaces:
    like the app's cleanDisabledRoutes, nothing stays disabled."""
    _, report = load(fixture("schema-broken"))
    assert report.disabled_routes == []


# --- differential: Mockoon 9.9's own code ------------------------------------------------------

BROKEN_CASES: list[dict[str, Any]] = [
    fixture("schema-broken"),
    fixture("schema-broken-refs"),
    fixture("schema-broken-repair"),
    current(port=70000, cors="yes", tlsOptions="on", headers=[1, {"key": 2}], data=[{"value": 3}, "x"]),
    current(routes=[{**ROUTE, "responses": [{"statusCode": "404", "rules": [{"operator": "like"}, None],
                                             "callbacks": [{"uuid": "nope"}, 3, {"latency": 1}]}]}]),
    current(rootChildren=[{"type": "route", "uuid": ROUTE["uuid"]}, {"type": "route", "uuid": ROUTE["uuid"]},
                          {"type": "folder"}, "junk"],
            folders=[{"uuid": "f0000000-0000-4000-8000-000000000000", "children": "none"}, 5]),
    current(lastMigration=30, routes=[{**ROUTE, "enabled": False, "responses": [{"body": 1}]}]),
    current(lastMigration=31, folders=None),
    current(lastMigration=20, routes=[{**ROUTE, "responses": None}]),
    current(callbacks=[{"name": "", "method": "all", "sendFileAsBody": "yes"}], name=None, latency=-5),
]


def _mask_new_values(value: Any, given: str) -> Any:
    """Fresh uuids (and ids) differ run to run: replace the ones the input did not contain."""
    if isinstance(value, dict):
        return {k: ("<new id>" if k == "id" and isinstance(v, str) and json.dumps(v) not in given
                    else _mask_new_values(v, given)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_new_values(v, given) for v in value]
    if isinstance(value, str) and UUID.match(value) and json.dumps(value) not in given:
        return "<new uuid>"
    return value


@pytest.mark.skipif(shutil.which("node") is None or not MOCKOON_COMMONS.exists(),
                    reason="needs node and Mockoon 9.9's @mockoon/commons (the bench's node_modules)")
@pytest.mark.parametrize("case", range(len(BROKEN_CASES)))
def test_same_repaired_environment_as_mockoon(case: int) -> None:
    given = json.dumps(BROKEN_CASES[case])
    mockoon = json.loads(subprocess.run(["node", str(HARNESS), str(MOCKOON_COMMONS)], input=given.encode(),
                                        capture_output=True, check=True, timeout=30).stdout)
    ours, report = load(json.loads(given))
    expected = mockoon["environment"]
    for key in ("data", "callbacks"):  # Mockoon leaves [] where an item was not an object; we drop it
        expected[key] = [item for item in expected[key] if item != []]
    assert _mask_new_values(ours, given) == _mask_new_values(expected, given)
    route_uuids = {r["uuid"] for r in mockoon["environment"]["routes"]}
    assert report.disabled_routes == [u for u in mockoon["disabledRoutes"] if u in route_uuids]
    assert (report.repairs[0].code == "REPAIR_MIGRATION") == mockoon["migrationFailed"]
    assert msgspec.json.decode(given) == BROKEN_CASES[case]  # the case itself was not mutated


def test_many_dropped_references_repair_in_linear_time() -> None:
    """Every route uuid is no UUID, so every rootChildren reference is dropped and every route re-attached:
    comparing each repair with each drop took 11 s for 1,500 routes (675 s for 13,457)."""
    import time

    from schemas import environment_from_obj

    routes = [{"uuid": f"r-{i}", "type": "http", "method": "get", "endpoint": f"e{i}",
               "responses": [{"uuid": f"s-{i}-{j}", "statusCode": 200} for j in range(5)]} for i in range(3000)]
    env = {"uuid": "u", "lastMigration": 33, "routes": routes,
           "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes]}
    started = time.monotonic()
    _, report = environment_from_obj(env)
    assert time.monotonic() - started < 10
    assert sum(r.code == "REPAIR_DROP" for r in report.repairs) == 3000
