"""``python -m worker ENV [FLAGS]``: ``mockfleet serve`` (the worker runtime the supervisor starts, too)."""

from __future__ import annotations

import sys

from schemas.platform_flags import mockfleet_parser

from .serve_command import add_parser


def main(argv: list[str]) -> int:
    parser, sub = mockfleet_parser()  # usage and errors read `mockfleet serve …`, as before
    add_parser(sub)
    args = parser.parse_args(["serve", *argv])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
