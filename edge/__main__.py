"""``python -m edge [FLAGS]`` runs the edge (``mockfleet edge``); ``python -m edge certificates [FLAGS]``
makes or checks its TLS files and prints where they are (what ``mockfleet up`` runs first)."""

from __future__ import annotations

import sys

from schemas.platform_flags import mockfleet_parser

from .edge_command import add_certificates_parser, add_parser


def main(argv: list[str]) -> int:
    parser, sub = mockfleet_parser()
    add_parser(sub)
    add_certificates_parser(sub)
    args = parser.parse_args(argv if argv[:1] == ["certificates"] else ["edge", *argv])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
