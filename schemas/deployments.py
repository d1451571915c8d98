"""Records and messages of the deployments API, shared by supervisor, edge and CLI.

Field names follow the Mockoon desktop app's deploy client (camelCase JSON).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

Visibility = Literal["PUBLIC", "PRIVATE"]
InstanceStatus = Literal["RUNNING", "STOPPED"]
PlanName = Literal["FREE", "SOLO", "TEAM", "ENTERPRISE"]

# An environment uuid names its deployment in URLs (``DELETE /deployments/{uuid}``): one path
# segment, never a dot-segment a client would resolve away (``../../etc`` could not be deleted).
# Mockoon writes UUIDs; this admits them and any other plain identifier.
ENVIRONMENT_UUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
ENVIRONMENT_UUID_RULE = "1 to 128 of A-Z a-z 0-9 _ . : -, starting with a letter or digit"


class DeployInstance(msgspec.Struct, kw_only=True, rename="camel"):
    """One deployed environment as the app lists it."""

    environment_uuid: str
    subdomain: str
    url: str
    visibility: Visibility
    status: InstanceStatus
    name: str
    api_key: str
    region: str
    live_update: bool = False


class DeployRequest(msgspec.Struct, kw_only=True, rename="camel"):
    """``POST /deployments`` body; ``environment`` is validated by ``schemas.decode`` after."""

    environment: dict[str, Any]
    visibility: Visibility = "PUBLIC"
    subdomain: str | None = None
    region: str | None = None
    live_update: bool = False
    version: str = ""


class SubdomainCheck(msgspec.Struct, kw_only=True, rename="camel"):
    subdomain: str
    environment_uuid: str


class Plan(msgspec.Struct, kw_only=True, rename="camel"):
    name: PlanName
    deployments_quota: int
    monthly_requests_quota: int
    requests_per_second: int
    trial: bool = False


DEFAULT_PLANS: dict[str, Plan] = {
    "FREE": Plan(name="FREE", deployments_quota=0, monthly_requests_quota=0, requests_per_second=0),
    "SOLO": Plan(name="SOLO", deployments_quota=1, monthly_requests_quota=50_000, requests_per_second=3),
    "TEAM": Plan(name="TEAM", deployments_quota=3, monthly_requests_quota=100_000, requests_per_second=5),
}
TRIAL_REQUESTS_PER_SECOND = 1


class QuotaUsage(msgspec.Struct, kw_only=True, rename="camel"):
    plan: PlanName
    deployments_used: int
    deployments_quota: int
    monthly_requests_used: int
    monthly_requests_quota: int
    requests_per_second: int
    next_quota_reset_on: str


class ErrorMessage(msgspec.Struct):
    message: str
