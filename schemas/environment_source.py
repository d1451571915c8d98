"""What ``serve`` and ``deploy`` accept: a Mockoon environment file, or an OpenAPI/Swagger spec
(JSON or YAML) converted on the way as ``mockoon-cli start --data spec.yaml`` does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .decode import load_json
from .errors import SchemaError
from .openapi_import import import_openapi
from .openapi_parse import SpecError, parse_spec_text, spec_kind, validation_findings


@dataclass
class EnvironmentSource:
    environment: Any  # the environment as parsed JSON, before migration and repair
    from_spec: bool = False
    warnings: list[str] = field(default_factory=list)  # the conversion's, for a spec


def spec_to_environment(data: bytes | str, *, validate: bool = True, uuid: str | None = None) -> EnvironmentSource:
    """Convert an OpenAPI/Swagger document; ``SpecError`` if it is none."""
    doc = parse_spec_text(data)
    findings = [f"spec: {finding}" for finding in validation_findings(doc)] if validate else []
    result = import_openapi(doc)
    if uuid:
        result.environment["uuid"] = uuid
    return EnvironmentSource(result.environment, True, [*findings, *result.warnings])


def read_environment_source(data: bytes, *, validate: bool = True, spec_uuid: str | None = None) -> EnvironmentSource:
    """An environment file as it is, or a spec converted (``spec_uuid`` names the environment);
    ``SchemaError`` for anything else."""
    try:
        obj: Any = load_json(data)
    except SchemaError as json_error:
        if "not valid JSON" not in json_error.reason:
            raise
        try:
            doc = parse_spec_text(data)
        except SpecError:
            raise json_error from None
        if spec_kind(doc) is None:
            raise SchemaError("$", "neither a Mockoon environment (JSON) nor an OpenAPI/Swagger document") from None
        obj = doc
    if spec_kind(obj) is None:
        return EnvironmentSource(obj)
    try:
        return spec_to_environment(data, validate=validate, uuid=spec_uuid)
    except SpecError as error:
        raise SchemaError("$", f"cannot import this OpenAPI/Swagger document: {error}") from None
