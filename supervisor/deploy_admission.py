"""May this account deploy at all? Decided from the plan and the registry before the body is decoded.

An account at its deployments quota can only re-deploy one of its own environments; that needs
the environment's uuid, which ``peek_uuid`` reads without building the environment (msgspec skips
every other field in C: about 15 ms for 19 MiB). An account with no deployment left and none of
its own is refused without reading the body at all.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec


class _Environment(msgspec.Struct):
    uuid: Any = None


class _Body(msgspec.Struct):
    environment: _Environment | None = None


def needs_uuid(quota: int, owned: Collection[str]) -> bool:
    """Only an account at its quota that owns deployments needs the uuid to be judged."""
    return len(owned) >= quota and len(owned) > 0


def quota_refusal(quota: int, owned: Collection[str], uuid: str | None, plan: str) -> str | None:
    """The 403 message, or None when the deploy may go on (a free slot, or a re-deploy of one's own)."""
    if len(owned) < quota or (uuid is not None and uuid in owned):
        return None
    return f"deployments quota reached: your {plan} plan allows {quota} deployment(s); delete one or upgrade"


def peek_uuid(body: bytes) -> str | None:
    """``environment.uuid`` of a deploy body, or None when the body is not one (validation says why later)."""
    try:
        found = msgspec.json.decode(body, type=_Body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    uuid = found.environment.uuid if found.environment is not None else None
    return uuid if isinstance(uuid, str) else None
