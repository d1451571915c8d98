"""``python -m edge certificates``: what ``mockfleet up`` runs before starting anything, so the local
CA exists (and its path is known) before the first request, and an operator's files that do not load
are refused at once. Imports no more than the certificates need (it runs at every ``up``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from schemas.platform_flags import add_edge_arguments, add_platform_arguments, places_from
from schemas.tls_files import operator_tls_files

from .certificates import CertificateError, TlsFiles, ensure_local_certificates, sni_context


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("certificates", help="make the local CA and certificates (once) unless --tls-cert/--tls-key "
                                            "are given, check they load, print where they are (JSON)")
    add_platform_arguments(p)  # the edge's own flags: `up` hands both commands the same list
    add_edge_arguments(p)
    p.set_defaults(func=run)


def tls_files(args: argparse.Namespace, cert_dir: Path, domain: str, server_id: str) -> TlsFiles:
    given = operator_tls_files(args.tls_cert, args.tls_key, args.api_tls_cert, args.api_tls_key)
    if given:
        return TlsFiles.at(given)
    return ensure_local_certificates(cert_dir, domain, server_id)


def run(args: argparse.Namespace) -> int:
    """Prints a ``schemas.tls_files.TlsLocations`` on stdout; exit 2 with the reason when files do not load."""
    places = places_from(args)
    try:
        files = tls_files(args, places.cert_dir, places.domain, places.server_id)
        sni_context(files, places.api_host)  # an operator's files that do not load are said before anything starts
    except CertificateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(msgspec.json.encode(files.locations()) + b"\n")
    return 0
