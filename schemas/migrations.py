"""Upgrade environments written by older Mockoon versions to the current schema.

Each migration is a small step on the raw JSON dict (old shapes do not fit the
current Structs), registered in ``MIGRATIONS`` under the ``lastMigration`` id Mockoon
gave it. ``migrate`` applies every step above the environment's own id, in order,
and records what the app would have kept outside the file (disabled routes,
collapsed folders) in a ``MigrationReport``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .environment import HIGHEST_MIGRATION
from .errors import SchemaError, UnsupportedSchemaVersion

Env = dict[str, Any]


@dataclass
class MigrationReport:
    """Facts a migration moved out of the environment file (Mockoon keeps them in app settings)."""

    from_version: int
    to_version: int
    disabled_routes: list[str] = field(default_factory=list)
    collapsed_folders: list[str] = field(default_factory=list)


def _routes(env: Env) -> Iterator[dict[str, Any]]:
    for route in env.get("routes") or []:
        if isinstance(route, dict):
            yield route


def _responses(env: Env) -> Iterator[dict[str, Any]]:
    for route in _routes(env):
        for response in route.get("responses") or []:
            if isinstance(response, dict):
                yield response


def _set_missing(target: dict[str, Any], key: str, value: Any) -> None:
    """JavaScript's ``??=``: only a missing or null value is replaced."""
    if target.get(key) is None:
        target[key] = value


def _set_falsy(target: dict[str, Any], key: str, value: Any) -> None:
    """JavaScript's ``if (!x) x = value``: any falsy value is replaced."""
    if not target.get(key):
        target[key] = value


def _new_uuid() -> str:
    return str(uuid.uuid4())


# --- the steps, by Mockoon migration id ------------------------------------------------


def _m1(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "proxyMode", False)
    _set_falsy(env, "proxyHost", "")
    _set_falsy(env, "https", False)


def _m2(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "cors", True)
    for route in _routes(env):
        _set_falsy(route, "uuid", _new_uuid())
        custom = route.get("customHeaders")
        if isinstance(custom, list):
            if not any(isinstance(h, dict) and h.get("key") == "Content-Type" for h in custom):
                custom.insert(0, {"key": "Content-Type", "value": route.get("contentType")})
            route.pop("contentType", None)


def _m3(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        _set_falsy(route, "uuid", _new_uuid())


def _m4(env: Env, report: MigrationReport) -> None:
    if not env.get("headers"):
        env["headers"] = [{"key": "", "value": ""}]
    for route in _routes(env):
        file = route.get("file")
        if isinstance(file, dict) and file.get("sendAsBody") is None:
            file["sendAsBody"] = False
        _set_missing(route, "documentation", "")
        if route.get("customHeaders"):
            route["headers"] = route.pop("customHeaders")


def _m5(env: Env, report: MigrationReport) -> None:
    env.pop("duplicates", None)
    for route in _routes(env):
        file = route.pop("file", None)
        route["filePath"] = file.get("path", "") if isinstance(file, dict) else ""
        route["sendFileAsBody"] = file.get("sendAsBody", False) if isinstance(file, dict) else False
        route.pop("duplicates", None)


def _m6(env: Env, report: MigrationReport) -> None:
    """Routes carried a single response inline; move it into ``responses``."""
    for route in _routes(env):
        status = route.pop("statusCode", None)
        route["responses"] = [
            {
                "uuid": _new_uuid(),
                "statusCode": "200" if status is None else status,
                "label": "",
                "latency": route.pop("latency", None),
                "filePath": route.pop("filePath", None),
                "sendFileAsBody": route.pop("sendFileAsBody", None),
                "headers": route.pop("headers", None),
                "body": route.pop("body", None),
                "rules": [],
            }
        ]


def _m7(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        response["uuid"] = _new_uuid()


def _m8(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        route["enabled"] = True


def _m9(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_falsy(response, "label", "")


def _m10(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "proxyReqHeaders", [{"key": "", "value": ""}])
    _set_falsy(env, "proxyResHeaders", [{"key": "", "value": ""}])


def _parse_int_like_js(value: Any) -> int | None:
    """``parseInt(x, 10)``: leading digits of the string form, else NaN (None)."""
    match = re.match(r"\s*([+-]?\d+)", str(value))
    return int(match.group(1)) if match else None


def _m11(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "disableTemplating", False)
        parsed = _parse_int_like_js(response.get("statusCode"))
        response["statusCode"] = 200 if parsed is None else parsed


def _m12(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "rulesOperator", "OR")


def _m13(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        _set_missing(route, "randomResponse", False)


def _m14(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        _set_missing(route, "sequentialResponse", False)


def _m15(env: Env, report: MigrationReport) -> None:
    _set_missing(env, "proxyRemovePrefix", False)


def _m16(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "hostname", "0.0.0.0")


def _m17(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "fallbackTo404", False)


def _m18(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        for rule in response.get("rules") or []:
            if not isinstance(rule, dict):
                continue
            if rule.get("isRegex"):
                rule["operator"] = "regex"
            _set_missing(rule, "operator", "equals")
            rule.pop("isRegex", None)


def _m19(env: Env, report: MigrationReport) -> None:
    if not env.get("tlsOptions"):
        env["tlsOptions"] = {
            "enabled": bool(env.get("https")),
            "type": "CERT",
            "pfxPath": "",
            "certPath": "",
            "keyPath": "",
            "caPath": "",
            "passphrase": "",
        }
    env.pop("https", None)


def _m20(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        for index, response in enumerate(route.get("responses") or []):
            if isinstance(response, dict) and "default" not in response:
                response["default"] = index == 0


def _m21(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        if route.get("responseMode") is None:
            if route.get("sequentialResponse"):
                route["responseMode"] = "SEQUENTIAL"
            elif route.get("randomResponse"):
                route["responseMode"] = "RANDOM"
            else:
                route["responseMode"] = None
        route.pop("sequentialResponse", None)
        route.pop("randomResponse", None)


def _m22(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        for rule in response.get("rules") or []:
            if isinstance(rule, dict):
                _set_missing(rule, "invert", False)


def _m23(env: Env, report: MigrationReport) -> None:
    _set_missing(env, "data", [])


def _m24(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "databucketID", "")
        if "bodyType" not in response:
            response["bodyType"] = "FILE" if response.get("filePath") else "INLINE"


def _m25(env: Env, report: MigrationReport) -> None:
    _set_missing(env, "folders", [])
    if env.get("rootChildren") is None:
        env["rootChildren"] = [{"type": "route", "uuid": r.get("uuid")} for r in _routes(env)]


def _m26(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        _set_missing(route, "type", "http")


def _m27(env: Env, report: MigrationReport) -> None:
    if env.get("hostname") == "0.0.0.0":
        env["hostname"] = ""


def _m28(env: Env, report: MigrationReport) -> None:
    for response in _responses(env):
        _set_missing(response, "crudKey", "id")


def _m29(env: Env, report: MigrationReport) -> None:
    for bucket in env.get("data") or []:
        if isinstance(bucket, dict) and isinstance(bucket.get("value"), str):
            bucket["value"] = rename_faker_v7_methods(bucket["value"])
    for response in _responses(env):
        if isinstance(response.get("body"), str):
            response["body"] = rename_faker_v7_methods(response["body"])


def _m30(env: Env, report: MigrationReport) -> None:
    _set_falsy(env, "callbacks", [])
    for response in _responses(env):
        response["callbacks"] = []


def _m31(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        if not route.pop("enabled", None):
            report.disabled_routes.append(route.get("uuid", ""))


def _m32(env: Env, report: MigrationReport) -> None:
    for folder in env.get("folders") or []:
        if isinstance(folder, dict) and folder.pop("collapsed", None):
            report.collapsed_folders.append(folder.get("uuid", ""))


def _m33(env: Env, report: MigrationReport) -> None:
    for route in _routes(env):
        route["streamingMode"] = None
        route["streamingInterval"] = 0


Step = Callable[[Env, MigrationReport], None]

MIGRATIONS: dict[int, Step] = {
    1: _m1, 2: _m2, 3: _m3, 4: _m4, 5: _m5, 6: _m6, 7: _m7, 8: _m8, 9: _m9, 10: _m10,
    11: _m11, 12: _m12, 13: _m13, 14: _m14, 15: _m15, 16: _m16, 17: _m17, 18: _m18,
    19: _m19, 20: _m20, 21: _m21, 22: _m22, 23: _m23, 24: _m24, 25: _m25, 26: _m26,
    27: _m27, 28: _m28, 29: _m29, 30: _m30, 31: _m31, 32: _m32, 33: _m33,
}  # fmt: skip
assert max(MIGRATIONS) == HIGHEST_MIGRATION


# --- faker v7 -> v8 method renames inside templates -------------------------------------

_RENAMES: dict[str, str | list[str]] = json.loads(
    resources.files(__package__).joinpath("faker_v8_renames.json").read_text()
)


def _rename_pattern(old: str) -> re.Pattern[str]:
    # The old name sits inside a mustache that calls faker; like Mockoon, the dots of the
    # old name are not escaped (they match any character).
    return re.compile(r"(\{{2,3}[^{]*faker[^}]*)" + old + r"([^})]*)([^}]*\}{2,3})")


_RENAME_TABLE: list[tuple[re.Pattern[str], str]] = []
for _old, _new in _RENAMES.items():
    if isinstance(_new, list):
        _replacement = r"\g<1>" + _new[0] + r"\g<2> " + " ".join(_new[1:]) + r"\g<3>"
    elif _new == "":
        _replacement = ""
    else:
        _replacement = r"\g<1>" + _new + r"\g<2>\g<3>"
    _RENAME_TABLE.append((_rename_pattern(_old), _replacement))


def rename_faker_v7_methods(template: str) -> str:
    """Rewrite faker 7 method names to their faker 8 names; removed methods drop the mustache."""
    if not template or "faker" not in template:
        return template
    for pattern, replacement in _RENAME_TABLE:
        template = pattern.sub(replacement, template)
    return template


# --- driver ------------------------------------------------------------------------------


def migrate(env: Env, highest: int = HIGHEST_MIGRATION) -> MigrationReport:
    """Upgrade ``env`` in place to schema ``highest``; refuse environments newer than it."""
    found = env.get("lastMigration")
    if found is None:
        found = 0
    if isinstance(found, bool) or not isinstance(found, int):
        raise SchemaError("$.lastMigration", f"expected int, got {type(found).__name__}")
    if found > highest:
        raise UnsupportedSchemaVersion(found, highest)
    report = MigrationReport(from_version=found, to_version=max(found, highest))
    if not isinstance(env.get("routes", []), list):
        raise SchemaError("$.routes", "expected array")
    for migration_id in range(max(found, 0) + 1, highest + 1):
        try:
            MIGRATIONS[migration_id](env, report)
        except (AttributeError, TypeError, KeyError, IndexError) as error:
            raise SchemaError("$", f"migration {migration_id} failed on malformed data: {error}") from error
        env["lastMigration"] = migration_id
    return report
