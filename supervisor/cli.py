"""The ``mockfleet`` command: one parser, each subcommand in its own module."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    try:
        return version("mockfleet")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockfleet", description="Run Mockoon environments as hosted mock APIs."
    )
    parser.add_argument("--version", action="version", version=f"mockfleet {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from edge import edge_command
    from supervisor import (
        client_command,
        install_command,
        logs_command,
        openapi_command,
        registry_command,
        supervise_command,
        up_command,
        validate_command,
    )
    from worker import serve_command

    up_command.add_parser(sub)
    validate_command.add_parser(sub)
    serve_command.add_parser(sub)
    supervise_command.add_parser(sub)
    edge_command.add_parser(sub)
    client_command.add_parsers(sub)
    openapi_command.add_parsers(sub)
    logs_command.add_parser(sub)
    install_command.add_parsers(sub)
    registry_command.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not getattr(args, "takes_command", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.command_words = extra  # `runtime add NAME --max-schema N -- COMMAND…`: argparse cannot split these
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
