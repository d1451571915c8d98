"""TLS material: the operator's files, or a local CA and certificates made with mitmproxy's store.

One wildcard certificate covers every instance of this server id; the API host has its own.
The SNI callback picks between them, so a handshake never presents a name it doesn't cover.
"""

from __future__ import annotations

import os
import ssl
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from schemas.tls_files import LOCAL_CA_BASENAME, TlsLocations, local_tls_files

from .local_ca import write_constrained_ca


class CertificateError(Exception):
    """Operator-given TLS files are missing or do not load."""


@dataclass
class TlsFiles:
    instances_cert: Path
    instances_key: Path
    api_cert: Path
    api_key: Path
    ca_cert: Path | None = None

    @classmethod
    def at(cls, where: TlsLocations) -> TlsFiles:
        return cls(Path(where.instances_cert), Path(where.instances_key), Path(where.api_cert), Path(where.api_key),
                   Path(where.ca_cert) if where.ca_cert else None)

    def locations(self) -> TlsLocations:
        return TlsLocations(instances_cert=str(self.instances_cert), instances_key=str(self.instances_key),
                            api_cert=str(self.api_cert), api_key=str(self.api_key),
                            ca_cert=str(self.ca_cert) if self.ca_cert else None)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ensure_local_certificates(cert_dir: Path, domain: str, server_id: str) -> TlsFiles:
    """Create (once) a CA and the two certificates; later starts reuse them."""
    from mitmproxy.certs import CertStore

    cert_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(cert_dir, 0o700)
    wildcard = f"*.{server_id}.{domain}"
    api = f"api.{domain}"
    files = TlsFiles.at(local_tls_files(cert_dir))
    marker = cert_dir / "names"
    wanted = f"{wildcard} {api}"
    if all(p.exists() for p in (files.instances_cert, files.instances_key, files.api_cert, files.api_key)) and \
            marker.exists() and marker.read_text() == wanted:
        return files
    if not (cert_dir / f"{LOCAL_CA_BASENAME}-ca.pem").exists():  # a CA made before name constraints is kept
        write_constrained_ca(cert_dir, LOCAL_CA_BASENAME, domain)
    store = CertStore.from_store(cert_dir, LOCAL_CA_BASENAME, 2048)
    for name, sans, cert_path, key_path in (
        (wildcard, [wildcard, f"{server_id}.{domain}"], files.instances_cert, files.instances_key),
        (api, [api], files.api_cert, files.api_key),
    ):
        entry = store.get_cert(name, [x509.DNSName(n) for n in sans], organization="mockfleet")
        chain = entry.cert.to_pem() + b"".join(c.to_pem() for c in entry.chain_certs)
        cert_path.write_bytes(chain)
        key = entry.privatekey.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        _write_private(key_path, key)
    marker.write_text(wanted)
    return files


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise CertificateError(f"cannot load certificate {cert} / key {key}: {error}") from error
    return context


# the TLS server name each connection asked for, read once after its handshake (``server_name``)
sni: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()


def server_name(tls: ssl.SSLSocket) -> str | None:
    """The server name (SNI) the client sent, lower-case; None without one or without ``sni_context``."""
    return sni.pop(tls, None)


def sni_context(files: TlsFiles, api_host: str) -> ssl.SSLContext:
    """The instances' context, switching to the API's certificate when SNI names the API host;
    remembers the name for the Host check (``server_name``)."""
    instances = server_context(files.instances_cert, files.instances_key)
    api = server_context(files.api_cert, files.api_key)

    def choose(sock: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext) -> None:
        sni[sock] = server_name.lower() if server_name else None
        if server_name and server_name.lower() == api_host:
            sock.context = api

    instances.sni_callback = choose  # type: ignore[assignment]
    return instances
