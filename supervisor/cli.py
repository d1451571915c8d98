"""The ``mockfleet`` command: one parser, each subcommand in its own module.

Commands of another package run that package by module name (``mockfleet serve`` is
``python -m worker``, ``mockfleet edge`` is ``python -m edge``), in place of this process: same
pid, signals, output and exit code, and the supervisor never imports its siblings.
"""

from __future__ import annotations

import argparse
import os
import sys

from schemas.platform_flags import mockfleet_parser

# command → (module run with ``python -m``, its help line in ``mockfleet --help``)
ELSEWHERE = {
    "serve": ("worker", "serve one Mockoon environment (like mockoon-cli start)"),
    "edge": ("edge", "run the edge alone, next to a running supervisor"),
}


def module_command(module: str, *args: str) -> list[str]:
    """``python -P -m module args…`` with this interpreter: -P keeps a ``worker.py`` or ``edge/`` in the
    current directory from standing in for ours (a console script never looked there)."""
    return [sys.executable, "-P", "-m", module, *args]


def elsewhere(argv: list[str]) -> list[str] | None:
    """The command line of another package's process when ``argv`` names one of its commands."""
    if argv and argv[0] in ELSEWHERE:
        return module_command(ELSEWHERE[argv[0]][0], *argv[1:])
    return None


def build_parser() -> argparse.ArgumentParser:
    parser, sub = mockfleet_parser()
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

    up_command.add_parser(sub)
    validate_command.add_parser(sub)
    sub.add_parser("serve", help=ELSEWHERE["serve"][1], add_help=False)  # listed here, run by elsewhere()
    supervise_command.add_parser(sub)
    sub.add_parser("edge", help=ELSEWHERE["edge"][1], add_help=False)
    client_command.add_parsers(sub)
    openapi_command.add_parsers(sub)
    logs_command.add_parser(sub)
    install_command.add_parsers(sub)
    registry_command.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = elsewhere(argv)
    if command:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(command[0], command)
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
