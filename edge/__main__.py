"""``python -m edge [FLAGS]`` runs the edge (``mockfleet edge``); ``python -m edge certificates [FLAGS]``
makes or checks its TLS files and prints where they are (what ``mockfleet up`` runs first)."""

from __future__ import annotations

import sys

from schemas.platform_flags import mockfleet_parser


def main(argv: list[str]) -> int:
    parser, sub = mockfleet_parser()
    if argv[:1] == ["certificates"]:  # without trio and the server: it runs at every `up`
        from . import certificates_command as command
    else:
        from . import edge_command as command  # type: ignore[no-redef]
        argv = ["edge", *argv]
    command.add_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
