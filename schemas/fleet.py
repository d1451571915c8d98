"""What servers of a fleet tell each other through the shared registry.

A ``FleetEvent`` is a change every server must hear about (a key rotated, a deployment deleted or
moved, a plan changed); a ``RemoteJob`` is work handed by the server that answered the API call to
the server that runs the deployment (a validated deploy, a reset), and ``RemoteDeployAnswer`` what
that server answers.
They live in registry tables (``fleet_events``, ``deploy_requests``), so they are Structs here.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from .deploy_validation import Validated

EventKind = Literal["changed", "deleted", "moved", "plans", "deploy"]


class FleetEvent(msgspec.Struct, kw_only=True, frozen=True):
    """One row of ``fleet_events``: ``server_id`` is the server concerned ('' : every server)."""

    seq: int
    kind: EventKind
    server_id: str = ""
    environment_uuid: str = ""
    subdomain: str = ""


class RemoteDeploy(msgspec.Struct, tag="deploy", kw_only=True):
    """A deploy the answering server validated and placed on another: the owner runs it as its own."""

    account_id: int
    request: Validated
    runtime: str


class RemoteReset(msgspec.Struct, tag="reset", kw_only=True):
    """``POST /deployments/{uuid}/reset`` asked of a server that does not run the deployment: its
    owner stops the worker (so its last push cannot land after the reset) and starts it again."""

    account_id: int
    environment_uuid: str


class RemoteDetails(msgspec.Struct, tag="details", kw_only=True):
    """``GET /deployments/{uuid}`` asked of a server that does not run it: worker, events and log tail
    are the owner's to tell."""

    account_id: int
    environment_uuid: str


RemoteJob = RemoteDeploy | RemoteReset | RemoteDetails


class RemoteDeployAnswer(msgspec.Struct, kw_only=True):
    """The owner's answer: the HTTP status and body the API call returns."""

    status: int
    body: dict[str, Any]
