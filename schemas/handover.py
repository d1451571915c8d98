"""The hand-over to a worker: the environment to serve plus what loading it decided.

``mockfleet serve FILE`` builds one in-process; the supervisor builds one per deploy or restart
and writes it to the worker's stdin. Both paths therefore serve the same thing: before this,
the supervisor sent only the migrated environment, and the routes a migration had disabled
(kept outside the file since schema 31) were served after a deploy but refused by ``serve``.

On the wire: one JSON line with everything but the environment, then the environment's JSON,
then end of input. Runtimes that only read ``adminToken`` from the first line still work.
"""

from __future__ import annotations

import msgspec

from .decode import schema_error_from_msgspec
from .environment import Environment
from .errors import SchemaError
from .outbound import OutboundSettings
from .repair import Repair
from .worker_state import DeployedRevision, StateLink


class _Header(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    admin_token: str = ""
    public_base_url: str = ""
    max_request_body_size: int = 0
    # WebSocket routes: per-connection guards (0: none) and how long open connections of a
    # retired revision are served before they are closed with 1001
    websocket_max_message_bytes: int = 0
    websocket_messages_per_second: int = 0
    websocket_idle_seconds: float = 0
    websocket_drain_seconds: float = 0
    disabled_routes: list[str] = msgspec.field(default_factory=list)
    repairs: list[Repair] = msgspec.field(default_factory=list)
    live_update: bool = True  # PUT /mockoon-admin/environment allowed (the deployment's liveUpdate flag)
    state_link: StateLink | None = None  # where to push state snapshots; None: state dies with the process
    state: bytes = b""  # a WorkerState snapshot to start from (schemas.worker_state), empty: the deployed state
    deployed: DeployedRevision | None = None  # set when ``environment`` is a live update
    outbound: OutboundSettings | None = None
    cloud: bool = False  # a deployment: environments the admin API loads are sanitised like deploys
    report_ready: bool = False  # write a WorkerReady line on stdin (a socket) once serving (schemas/worker_channel.py)


class WorkerHandover(_Header, kw_only=True):
    """Everything a worker serves from: no worker decides again what loading decided once.

    ``disabled_routes``: route uuids a migration disabled; ``repairs``: what was repaired, for the
    worker's start-up output. Options left empty take the worker's own defaults. ``state_link``,
    ``state`` and ``deployed`` carry a deployment's durable state (see ``schemas.worker_state``).
    ``outbound``: the operator's outbound policy and limits (proxy mode, callbacks)."""

    environment: Environment


_header_decoder = msgspec.json.Decoder(_Header)
_environment_decoder = msgspec.json.Decoder(Environment)


def encode_handover(handover: WorkerHandover) -> bytes:
    header = _Header(**{field: getattr(handover, field) for field in _Header.__struct_fields__})
    return msgspec.json.encode(header) + b"\n" + msgspec.json.encode(handover.environment)


HandoverHeader = _Header  # the options line alone, for ``encode_handover_raw``


def encode_handover_raw(header: HandoverHeader, environment_json: bytes) -> bytes:
    """``encode_handover`` for an environment already encoded by ``encode_environment`` (as the
    registry keeps it): the supervisor hands over a large environment without decoding it again."""
    return msgspec.json.encode(header) + b"\n" + environment_json


def decode_handover(data: bytes) -> WorkerHandover:
    """The inverse of ``encode_handover``; a malformed hand-over is a ``SchemaError`` with its path."""
    line, newline, rest = data.partition(b"\n")
    if not newline:
        raise SchemaError("$", "hand-over has no header line")
    try:
        header = _header_decoder.decode(line)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise SchemaError("$", f"hand-over header: {schema_error_from_msgspec(error)}") from None
    try:
        environment = _environment_decoder.decode(rest)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise schema_error_from_msgspec(error) from None
    fields = {field: getattr(header, field) for field in _Header.__struct_fields__}
    return WorkerHandover(environment=environment, **fields)
