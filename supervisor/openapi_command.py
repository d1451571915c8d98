"""``mockfleet import`` and ``mockfleet export``: OpenAPI specs to environments and back, as
``mockoon-cli import`` / ``export`` 9.9 do (the conversion itself is ``schemas.openapi_*``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schemas import SchemaError, decode_environment
from schemas.js_json import js_stringify
from schemas.openapi_export import dump_openapi, export_openapi
from schemas.openapi_import import import_openapi
from schemas.openapi_parse import SpecError, parse_spec_text, validation_findings


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="OpenAPI 3 / Swagger 2.0 spec (JSON or YAML) → Mockoon environment "
                                      "(like mockoon-cli import)")
    p.add_argument("spec", nargs="?", type=Path, help="the spec file")
    p.add_argument("-i", "--input", type=Path, help="the spec file (mockoon-cli's spelling)")
    p.add_argument("-o", "--output", type=Path, required=True, help="environment JSON file to write")
    p.add_argument("-p", "--prettify", action="store_true", help="indent the JSON")
    p.add_argument("--port", type=int, help="the environment's port (default: from the spec, else 3000)")
    p.add_argument("--no-validate", action="store_true", help="skip openapi-spec-validator's findings")
    p.add_argument("--disable-external-refs", action="store_true",
                   help="accepted for mockoon-cli parity: references outside the file are never fetched")
    p.set_defaults(func=run_import)
    p = sub.add_parser("export", help="Mockoon environment → OpenAPI 3 document (like mockoon-cli export)")
    p.add_argument("environment", nargs="?", type=Path)
    p.add_argument("-i", "--input", type=Path, help="the environment file (mockoon-cli's spelling)")
    p.add_argument("-o", "--output", type=Path, required=True, help="SPEC.json or SPEC.yaml")
    p.add_argument("-f", "--format", choices=["json", "yaml"],
                   help="default: yaml for .yaml/.yml outputs, else json")
    p.add_argument("-p", "--prettify", action="store_true", help="indent the JSON")
    p.set_defaults(func=run_export)


def _input(args: argparse.Namespace, positional: Path | None) -> Path | None:
    if positional and args.input and positional != args.input:
        print("error: give the input once (positional or -i)", file=sys.stderr)
        return None
    path = positional or args.input
    if path is None:
        print("error: which file? (positional or -i)", file=sys.stderr)
    return path


def run_import(args: argparse.Namespace) -> int:
    path = _input(args, args.spec)
    if path is None:
        return 2
    try:
        doc = parse_spec_text(path.read_bytes())
        result = import_openapi(doc, port=args.port)
    except OSError as error:
        print(f"error: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    except SpecError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 1
    findings = [] if args.no_validate else validation_findings(doc)
    for warning in [*(f"spec: {f}" for f in findings), *result.warnings]:
        print(f"warning: {warning}", file=sys.stderr)
    args.output.write_text(str(js_stringify(result.environment, 2 if args.prettify else 0)), encoding="utf-8")
    env = result.environment
    print(f"imported {env['name']!r}: {len(env['routes'])} routes, "
          f"{sum(len(r['responses']) for r in env['routes'])} responses → {args.output}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    path = _input(args, args.environment)
    if path is None:
        return 2
    fmt = args.format or ("yaml" if args.output.suffix.lower() in (".yaml", ".yml") else "json")
    try:
        env, report = decode_environment(path.read_bytes())
    except OSError as error:
        print(f"error: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    except SchemaError as error:
        print(f"error: invalid environment {path}: {error}", file=sys.stderr)
        return 1
    for repair in report.repairs:
        print(f"warning: repaired {repair.path}: {repair.message}", file=sys.stderr)
    document = export_openapi(env)
    args.output.write_text(dump_openapi(document, fmt, args.prettify), encoding="utf-8")
    print(f"exported {env.name!r}: {len(document['paths'])} paths → {args.output} ({fmt})")
    return 0
