"""Cloud sanitisation: what a hosted instance may not do, turned off and reported.

A pure function: it returns a new environment and a list of warnings, so the deploy
answer can tell the owner exactly what was disabled and why.
"""

from __future__ import annotations

import copy
from typing import Literal

import msgspec

from .addresses import check_outbound_url
from .environment import Environment

WarningCode = Literal[
    "TLS_DISABLED", "HOSTNAME_IGNORED", "FILE_BODY_NOT_SERVED", "PROXY_DISABLED",
    "CALLBACK_DISABLED", "CHECKED_AT_CONNECTION", "LATENCY_OVERFLOW",
]  # fmt: skip


class SanitiseWarning(msgspec.Struct, kw_only=True, omit_defaults=True):
    code: WarningCode
    message: str
    path: str
    route_uuid: str = msgspec.field(default="", name="routeUuid")
    response_uuid: str = msgspec.field(default="", name="responseUuid")


def sanitise_for_cloud(env: Environment) -> tuple[Environment, list[SanitiseWarning]]:
    """Return the environment to deploy and every warning, leaving ``env`` untouched."""
    out = copy.deepcopy(env)
    warnings: list[SanitiseWarning] = []

    if out.tls_options.enabled:
        out.tls_options.enabled = False
        warnings.append(SanitiseWarning(
            code="TLS_DISABLED", path="$.tlsOptions.enabled",
            message="custom TLS options are ignored: the platform terminates TLS for every instance",
        ))
    if out.hostname:
        warnings.append(SanitiseWarning(
            code="HOSTNAME_IGNORED", path="$.hostname",
            message=f"hostname {out.hostname!r} is ignored: instances are reached through their URL",
        ))
        out.hostname = ""

    for r_index, route in enumerate(out.routes):
        for s_index, response in enumerate(route.responses):
            if response.body_type == "FILE":
                where = f"$.routes[{r_index}].responses[{s_index}]"
                fallback = "answers 404 with the inline body" if response.fallback_to404 else "answers the file-serving error"
                warnings.append(SanitiseWarning(
                    code="FILE_BODY_NOT_SERVED", path=f"{where}.filePath",
                    route_uuid=route.uuid, response_uuid=response.uuid,
                    message=(f"route {route.method.upper() or 'CRUD'} /{route.endpoint} response "
                             f"{s_index + 1} ({response.label or 'no label'}) reads file "
                             f"{response.file_path!r}: files are not served, the instance {fallback}"),
                ))

    if out.proxy_mode:
        check = check_outbound_url(out.proxy_host)
        if not check.allowed:
            out.proxy_mode = False
            warnings.append(SanitiseWarning(
                code="PROXY_DISABLED", path="$.proxyHost",
                message=f"proxy mode disabled: {out.proxy_host!r}: {check.reason}",
            ))
        elif check.needs_dns:
            warnings.append(SanitiseWarning(
                code="CHECKED_AT_CONNECTION", path="$.proxyHost",
                message=f"proxy host {out.proxy_host!r} is checked again at each connection",
            ))

    for c_index, callback in enumerate(out.callbacks):
        check = check_outbound_url(callback.uri)
        path = f"$.callbacks[{c_index}].uri"
        if not check.allowed:
            warnings.append(SanitiseWarning(
                code="CALLBACK_DISABLED", path=path,
                message=f"callback {callback.name!r} disabled: {callback.uri!r}: {check.reason}",
            ))
            callback.uri = ""
        elif check.needs_dns:
            warnings.append(SanitiseWarning(
                code="CHECKED_AT_CONNECTION", path=path,
                message=f"callback {callback.name!r} target is checked again at each connection",
            ))
    return out, warnings
