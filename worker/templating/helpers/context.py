"""Helpers that read the request, set the response status, and use the environment's state."""

from __future__ import annotations

import math
from typing import Any

from ...jsvalues import (
    UNDEFINED,
    SafeString,
    is_nan,
    is_nullish,
    json_stringify,
    to_number,
    to_output,
    to_string,
    unsafe,
)
from ..runtime import Options, helper_table
from . import paths


def _arg(args: tuple[Any, ...], index: int, default: Any = "") -> Any:
    value = unsafe(args[index]) if len(args) > index else UNDEFINED
    return default if is_nullish(value) else value


def _safe(value: Any, stringify: Any = False) -> SafeString:
    if isinstance(value, (dict, list)) or stringify is True:
        result = json_stringify(value)
        return SafeString(to_output(result))
    return SafeString(to_string(value))


def body(opts: Options, *args: Any) -> Any:
    request = opts.scope.request
    path = to_string(_arg(args, 0))
    if path == "":
        return SafeString(request.body_text)
    default = _arg(args, 1)
    value = request.body if not is_nullish(request.body) else default
    value = paths.get_value_from_path(value, path, default)
    return _safe(value, args[2] if len(args) > 2 else False)


def body_raw(opts: Options, *args: Any) -> Any:
    request = opts.scope.request
    path = to_string(_arg(args, 0))
    default = _arg(args, 1)
    if not request.body and request.body is not False:
        return default
    return paths.get_value_from_path(request.body, path, default)


def query_param(opts: Options, *args: Any) -> Any:
    request = opts.scope.request
    path = to_string(_arg(args, 0))
    default = _arg(args, 1)
    value = paths.get_value_from_path(request.query, path, default)
    return _safe(value, args[2] if len(args) > 2 else False)


def query_param_raw(opts: Options, *args: Any) -> Any:
    path = to_string(_arg(args, 0))
    return paths.get_value_from_path(opts.scope.request.query, path, _arg(args, 1))


def url_param(opts: Options, name: Any = UNDEFINED, *rest: Any) -> Any:
    return opts.scope.request.params.get(to_string(unsafe(name)), UNDEFINED)


def header(opts: Options, name: Any = UNDEFINED, default: Any = "", *rest: Any) -> Any:
    if isinstance(default, (dict, list)) or is_nullish(default):
        default = ""
    if not isinstance(name, str):
        return default
    return opts.scope.request.header(str.__str__(name)) or default


def cookie(opts: Options, key: Any = UNDEFINED, default: Any = "", *rest: Any) -> Any:
    if isinstance(default, (dict, list)) or is_nullish(default):
        default = ""
    return opts.scope.request.cookies.get(to_string(unsafe(key)), "") or default


def status(opts: Options, *args: Any) -> str:
    if args:
        code = to_number(unsafe(args[0]))
        if not is_nan(code) and not math.isinf(code) and float(code).is_integer() and 100 <= code <= 999:
            opts.scope.status = int(code)
    return ""


def _bucket(opts: Options, name: Any) -> Any:
    return opts.scope.find_bucket(to_string(unsafe(name)))


def data(opts: Options, *args: Any) -> Any:
    if not args:
        return UNDEFINED
    bucket = _bucket(opts, args[0])
    if bucket is None:
        return UNDEFINED
    value = paths.get_value_from_path(bucket.value, unsafe(args[1]) if len(args) > 1 else UNDEFINED, "")
    return _safe(value)


def data_raw(opts: Options, *args: Any) -> Any:
    if not args:
        return UNDEFINED
    bucket = _bucket(opts, args[0])
    if bucket is None:
        return UNDEFINED
    return paths.get_value_from_path(bucket.value, unsafe(args[1]) if len(args) > 1 else UNDEFINED, "")


_SET_DATA_OPERATORS = ("push", "del", "inc", "dec", "invert", "set", "merge")


def set_data(opts: Options, *args: Any) -> Any:
    if len(args) < 2:
        return UNDEFINED
    operator = to_string(unsafe(args[0]))
    if operator not in _SET_DATA_OPERATORS:
        operator = "set"
    bucket = _bucket(opts, args[1])
    if bucket is None:
        return UNDEFINED
    raw_path = to_string(_arg(args, 2))
    path = paths.split_object_path(raw_path) if raw_path else None
    new_value = unsafe(args[3]) if len(args) > 3 else UNDEFINED
    current = paths.object_path_get(bucket.value, path) if path else bucket.value
    if operator in ("set", "merge", "push"):
        opts.scope.state.reserve(new_value)  # StateFull over the plan's state cap, before any change

    def store(value: Any) -> None:
        if path:
            paths.object_path_set(bucket.value, path, value)
        else:
            bucket.value = value

    if operator == "set":
        store(new_value)
    elif operator == "merge":
        if isinstance(current, dict) and isinstance(new_value, dict):
            store({**current, **new_value})
        else:
            store(new_value)
    elif operator == "push":
        if isinstance(current, list):
            current.append(new_value)
    elif operator == "del":
        if path:
            paths.object_path_del(bucket.value, path)
        else:
            bucket.value = UNDEFINED
    elif operator in ("inc", "dec"):
        step = to_number(new_value) if not is_nullish(new_value) and new_value != "" else 0
        if not is_nan(step):
            base = to_number(current)
            if not is_nan(base):
                store(base + (step or 1) * (1 if operator == "inc" else -1))
    elif operator == "invert":
        if isinstance(current, bool):
            store(not current)
    return UNDEFINED


def set_global_var(opts: Options, *args: Any) -> Any:
    if len(args) < 2:
        return UNDEFINED
    opts.scope.state.reserve(unsafe(args[1]))
    opts.scope.global_vars[to_string(unsafe(args[0]))] = unsafe(args[1])
    return UNDEFINED


def get_global_var(opts: Options, *args: Any) -> Any:
    if not args:
        return UNDEFINED
    name = to_string(unsafe(args[0]))
    default = _arg(args, 2)
    if name not in opts.scope.global_vars:
        return default
    return paths.get_value_from_path(opts.scope.global_vars[name], unsafe(args[1]) if len(args) > 1 else UNDEFINED, default)


def get_env_var(opts: Options, *args: Any) -> Any:
    if not args:
        return UNDEFINED
    name = to_string(unsafe(args[0]))
    prefix = opts.scope.env_vars_prefix
    if not name.startswith(prefix):
        name = prefix + name
    value = opts.scope.env_vars.get(name)
    return _arg(args, 1) if value is None else value


HELPERS = helper_table({
    "body": body,
    "bodyRaw": body_raw,
    "queryParam": query_param,
    "queryParamRaw": query_param_raw,
    "queryParams": lambda opts, *a: opts.scope.request.query,
    "urlParam": url_param,
    "urlParams": lambda opts, *a: opts.scope.request.params,
    "header": header,
    "headers": lambda opts, *a: opts.scope.request.headers_dict(),
    "cookie": cookie,
    "baseUrl": lambda opts, *a: opts.scope.request.base_url,
    "hostname": lambda opts, *a: opts.scope.request.hostname,
    "ip": lambda opts, *a: opts.scope.request.ip,
    "method": lambda opts, *a: opts.scope.request.method,
    "status": status,
    "data": data,
    "dataRaw": data_raw,
    "setData": set_data,
    "setGlobalVar": set_global_var,
    "getGlobalVar": get_global_var,
    "getEnvVar": get_env_var,
})
