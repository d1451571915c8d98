"""``mockfleet install-service`` (a systemd unit for ``mockfleet up``) and ``mockfleet dockerize``
(a Dockerfile of the platform, as ``mockoon-cli dockerize`` makes one for a single mock)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .service_files import DOCKERIGNORE, ServiceSpec, dockerfile, systemd_unit

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("install-service", help="operator: write a hardened systemd unit for `mockfleet up`")
    p.add_argument("--output", "-o", type=Path, default=Path("/etc/systemd/system/mockfleet.service"),
                   help="where to write the unit ('-': standard output)")
    p.add_argument("--data-dir", type=Path, default=Path("/var/lib/mockfleet"))
    p.add_argument("--user", default="mockfleet", help="the dedicated user the service runs as")
    p.add_argument("--https-port", type=int, default=8443)
    p.add_argument("--python", default=sys.executable, help="the interpreter mockfleet is installed in")
    p.add_argument("up_flags", nargs="*", help="further `mockfleet up` flags, after --")
    p.set_defaults(func=install_service)
    p = sub.add_parser("dockerize", help="operator: write a Dockerfile of the whole platform")
    p.add_argument("--output", "-o", type=Path, default=SOURCE_ROOT / "Dockerfile",
                   help="the Dockerfile (default: at the source tree's root, its build context)")
    p.add_argument("--https-port", type=int, default=8443)
    p.add_argument("--python-image", default="python:3.11-slim")
    p.add_argument("up_flags", nargs="*", help="further `mockfleet up` flags, after --")
    p.set_defaults(func=dockerize)


def _write(path: Path, text: str) -> None:
    if str(path) == "-":
        sys.stdout.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def install_service(args: argparse.Namespace) -> int:
    data_dir = args.data_dir.expanduser().resolve()
    unit = systemd_unit(ServiceSpec(python=args.python, data_dir=data_dir, user=args.user,
                                    https_port=args.https_port, extra=list(args.up_flags)))
    try:
        _write(args.output, unit)
    except OSError as error:
        print(f"error: cannot write {args.output}: {error.strerror} (run as root, or pass -o)", file=sys.stderr)
        return 1
    if str(args.output) != "-":
        name = args.output.name
        print(f"wrote {args.output}; then, as root:\n"
              f"  useradd --system --home-dir {data_dir} --shell /usr/sbin/nologin {args.user}\n"
              f"  install -d -o {args.user} -g {args.user} -m 0700 {data_dir}\n"
              f"  systemctl daemon-reload && systemctl enable --now {name}\n"
              f"  journalctl -u {name}    # the account token is printed on the first start, and kept in "
              f"{data_dir}/credentials.json")
    return 0


def dockerize(args: argparse.Namespace) -> int:
    text = dockerfile(python_image=args.python_image, https_port=args.https_port, extra=list(args.up_flags))
    try:
        _write(args.output, text)
        if str(args.output) != "-":
            ignore = args.output.parent / ".dockerignore"
            if not ignore.exists():
                ignore.write_text(DOCKERIGNORE)
    except OSError as error:
        print(f"error: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return 1
    if str(args.output) != "-":
        print(f"wrote {args.output}; build it from the source tree:\n"
              f"  docker build -t mockfleet -f {args.output} {SOURCE_ROOT}\n"
              f"  docker run -p {args.https_port}:{args.https_port} -v mockfleet-data:/data mockfleet")
    return 0
