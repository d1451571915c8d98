"""Cloud sanitisation: what a hosted instance may not do, turned off and reported.

A pure function: it returns a new environment and a list of warnings, so the deploy
answer can tell the owner exactly what was disabled and why.
"""

from __future__ import annotations

import copy
from typing import Literal

import msgspec

from .environment import Environment
from .outbound import Guard, OutboundRefused

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


def _outbound_verdict(guard: Guard, url: str) -> tuple[bool, str] | None:
    """(refused, why) for the deploy answer, or None when the target is allowed as it stands."""
    if "{{" in url:
        return False, "the URL is templated: it is rendered at each call and its host checked then"
    if url.startswith("/"):
        return False, "a relative URL calls this instance through its public URL, checked at each call"
    try:
        decision = guard.check_url(url)
    except OutboundRefused as refused:
        return True, refused.reason
    if decision is None:
        return False, "the host is resolved at each connection and every address it resolves to is checked"
    return None if decision.allowed else (True, decision.reason)


def sanitise_for_cloud(env: Environment, guard: Guard | None = None) -> tuple[Environment, list[SanitiseWarning]]:
    """Return the environment to deploy and every warning, leaving ``env`` untouched.

    Proxy mode and callbacks stay as they are: the worker's outbound guard (``guard``, with the
    operator's rules) refuses at each request what is refused here, answering as Mockoon does."""
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

    guard = guard or Guard()
    if out.proxy_mode and out.proxy_host:
        verdict = _outbound_verdict(guard, out.proxy_host)
        if verdict is not None:
            refused, reason = verdict
            warnings.append(SanitiseWarning(
                code="PROXY_DISABLED" if refused else "CHECKED_AT_CONNECTION", path="$.proxyHost",
                message=(f"proxy host {out.proxy_host!r} is refused: {reason}; requests no route answers get "
                         "Mockoon's 504 proxy error" if refused else
                         f"proxy host {out.proxy_host!r}: {reason}; a request is answered with Mockoon's 504 proxy "
                         "error when an address is refused"),
            ))

    for c_index, callback in enumerate(out.callbacks):
        path = f"$.callbacks[{c_index}].uri"
        verdict = _outbound_verdict(guard, callback.uri)
        if verdict is not None:
            refused, reason = verdict
            warnings.append(SanitiseWarning(
                code="CALLBACK_DISABLED" if refused else "CHECKED_AT_CONNECTION", path=path,
                message=(f"callback {callback.name!r} is never sent: {callback.uri!r} is refused: {reason}; each "
                         "attempt is logged (GET /mockoon-admin/callbacks)" if refused else
                         f"callback {callback.name!r}: {reason}; refused and logged when an address is refused"),
            ))
    return out, warnings
