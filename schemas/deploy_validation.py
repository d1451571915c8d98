"""Messages between the supervisor and its deploy validator, a short-lived child process.

Decoding, migrating, repairing and sanitising an upload is CPU work proportional to its size
(seconds for an 18 MiB environment), so the supervisor runs it in a process of its own with a
CPU and memory budget, off its event loop. On the wire: a ``ValidationJob`` as one JSON line,
then the request body as received; back: one msgpack ``Validated`` or ``Refused``.
"""

from __future__ import annotations

import msgspec

from .outbound import OutboundSettings
from .repair import Repair
from .sanitise import SanitiseWarning


class ValidationJob(msgspec.Struct, kw_only=True):
    """What the validator needs besides the body: the schema to migrate to and the size limit."""

    max_schema: int
    runtime: str  # named in the "too new" refusal
    max_environment_bytes: int
    outbound: OutboundSettings | None = None  # the operator's outbound rules: the deploy warnings follow them


class Validated(msgspec.Struct, tag="validated", kw_only=True):
    """A deploy request whose environment is ready to store and serve.

    ``migrated`` is the environment as the registry keeps it and a worker reads it;
    ``uploaded`` the environment as the app sent it."""

    uuid: str
    name: str
    visibility: str
    subdomain: str | None
    region: str | None
    live_update: bool
    migrated: bytes
    uploaded: bytes
    repairs: list[Repair]
    warnings: list[SanitiseWarning]
    disabled_routes: list[str]
    from_version: int


class Refused(msgspec.Struct, tag="refused", kw_only=True):
    """Why the request cannot be deployed, as the API answers it (``path``: where in the environment)."""

    status: int
    message: str
    path: str = ""


ValidationResult = Validated | Refused


# --- the validation fork server (supervisor/validation_forks.py) ---------------------------------
# One warm process that has imported ``schemas`` forks a validation child per deploy instead of the
# supervisor starting an interpreter (75 ms) each time. Per job the supervisor sends a
# ``ValidationFork`` on the fork server's control socket with four descriptors beside it
# (SCM_RIGHTS): a socket for this job's progress, and the child's stdin, stdout and stderr. The
# progress socket then carries ``ValidationStarted`` and ``ValidationEnded``, one JSON line each.


MAX_FORK_MESSAGE = 4096


class ValidationFork(msgspec.Struct, kw_only=True, tag=True):
    """The child's budget, applied by the child before it reads the body."""

    cpu_seconds: int
    address_space: int
    niceness: int


class ValidationStarted(msgspec.Struct, kw_only=True, tag=True):
    pid: int  # what the supervisor kills at the wall-clock deadline


class ValidationEnded(msgspec.Struct, kw_only=True, tag=True):
    returncode: int  # as subprocess reports it: negative for a signal


ValidationProgress = ValidationStarted | ValidationEnded
