"""Validate a deploy request: decode, migrate, repair, sanitise, measure — a pure function of the body.

The supervisor runs it in a child process (``python -m supervisor.deploy_validation``, see
``supervisor/validator.py``) so a large or hostile upload costs that child's CPU budget, never the
supervisor's event loop. The child imports only ``schemas``: it starts in about 0.1 s.
"""

from __future__ import annotations

import sys

import msgspec

from schemas import SchemaError, UnsupportedSchemaVersion, environment_from_obj
from schemas.decode import check_depth, too_deep
from schemas.deploy_validation import Refused, Validated, ValidationJob, ValidationResult
from schemas.deployments import ENVIRONMENT_UUID, ENVIRONMENT_UUID_RULE, DeployRequest
from schemas.environment import Environment
from schemas.outbound import Guard
from schemas.sanitise import SanitiseWarning, sanitise_for_cloud

_MIB = 2**20
_NODE_MAX_DELAY_MS = 2**31 - 1


def latency_warnings(env: Environment) -> list[SanitiseWarning]:
    """Latencies Node cannot wait for: Mockoon (and the worker) answer them after 1 ms, so the
    owner hears it at deploy rather than wondering why ``latency: 1e12`` does not delay."""
    def note(path: str, value: int, **uuids: str) -> SanitiseWarning:
        return SanitiseWarning(code="LATENCY_OVERFLOW", path=path, **uuids,
                               message=f"latency {value} ms is over Node's timer limit ({_NODE_MAX_DELAY_MS} ms): "
                                       "like Mockoon, the response is sent after 1 ms")
    found = [note("$.latency", env.latency)] if env.latency > _NODE_MAX_DELAY_MS else []
    for r_index, route in enumerate(env.routes):
        for s_index, response in enumerate(route.responses):
            if response.latency > _NODE_MAX_DELAY_MS:
                found.append(note(f"$.routes[{r_index}].responses[{s_index}].latency", response.latency,
                                  route_uuid=route.uuid, response_uuid=response.uuid))
    return found


def _invalid(error: SchemaError) -> Refused:
    return Refused(status=422, message=f"invalid environment: {error}", path=error.path)


def validate(body: bytes, job: ValidationJob) -> ValidationResult:
    """The environment of a ``POST /deployments`` body, ready to store and serve, or why not.

    One size limit, checked once: on the migrated environment (what the registry keeps and a
    worker loads), since migration fills Mockoon's defaults and drops unknown fields."""
    try:
        request = msgspec.json.decode(body, type=DeployRequest)
    except msgspec.ValidationError as error:
        return Refused(status=422, message=f"invalid deploy request: {error}")
    except msgspec.DecodeError as error:
        return Refused(status=400, message=f"invalid JSON: {error}")
    except RecursionError:  # msgspec recurses once per level, so this is far past the limit
        return _invalid(too_deep())
    try:
        check_depth(request.environment)  # before anything recursive (migrations) walks it
    except SchemaError as error:
        return _invalid(error)
    if "openapi" in request.environment or "swagger" in request.environment:
        return Refused(status=422, path="$", message=(
            "invalid environment: this is an OpenAPI/Swagger document, not a Mockoon environment; import it first "
            "(`mockfleet import SPEC -o ENV.json`, or `mockfleet deploy SPEC` converts it on the way)"))
    given_uuid = request.environment.get("uuid")
    if not isinstance(given_uuid, str) or not given_uuid:
        return Refused(status=422, message="invalid environment: $.uuid: expected a non-empty string", path="$.uuid")
    if ENVIRONMENT_UUID.fullmatch(given_uuid) is None:  # it must name the deployment in URLs
        return Refused(status=422, message=f"invalid environment: $.uuid: {given_uuid[:60]!r} is not a valid "
                                           f"environment uuid ({ENVIRONMENT_UUID_RULE})", path="$.uuid")
    uploaded = msgspec.json.encode(request.environment)  # before the migration changes it in place
    try:
        env, report = environment_from_obj(request.environment, job.max_schema)
    except UnsupportedSchemaVersion as error:
        return Refused(status=422, message=f"environment schema {error.found} is newer than the newest runtime "
                                          f"({job.runtime}, schema {job.max_schema}); upgrade the platform or "
                                          "export the environment from an older Mockoon", path="$.lastMigration")
    except SchemaError as error:
        return _invalid(error)
    if env.uuid != given_uuid:
        # Mockoon's repair gives a non-UUID uuid a fresh one; a deployment keeps the one it was
        # deployed under (checked above), since the app and the API name it by that uuid
        env.uuid = given_uuid
        report.repairs = [r for r in report.repairs if r.path != "$.uuid"]
    env, warnings = sanitise_for_cloud(env, Guard.from_settings(job.outbound) if job.outbound else None)
    warnings.extend(latency_warnings(env))
    env.last_migration = job.max_schema
    compact = msgspec.json.encode(env)
    if len(compact) > job.max_environment_bytes:
        return Refused(status=413, path="$",
                       message=f"environment is {len(compact) / _MIB:.1f} MiB once migrated (Mockoon's defaults "
                               f"filled in, unknown fields dropped), over the {job.max_environment_bytes / _MIB:g} "
                               "MiB allowed")
    return Validated(uuid=env.uuid, name=env.name, visibility=request.visibility, subdomain=request.subdomain,
                     region=request.region, live_update=request.live_update,
                     migrated=msgspec.json.format(compact, indent=2), uploaded=uploaded, repairs=report.repairs,
                     warnings=warnings, disabled_routes=report.disabled_routes, from_version=report.from_version)


def main() -> int:
    """The child: a job line and the body on stdin, one msgpack result on stdout."""
    data = sys.stdin.buffer.read()
    line, _, body = data.partition(b"\n")
    job = msgspec.json.decode(line, type=ValidationJob)
    try:
        result = validate(body, job)
    except MemoryError:
        result = Refused(status=413, message="the environment is too large to validate within the memory allowed")
    sys.stdout.buffer.write(msgspec.msgpack.encode(result))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
