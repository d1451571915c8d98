"""The local CA may only vouch for the platform's domain: clients refuse what it signs elsewhere."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge.certificates import ensure_local_certificates


def handshake(ca: Path, cert: bytes, key: bytes, tmp_path: Path, name: str) -> None:
    """A real TLS handshake in memory: a server with ``cert``, a client trusting only ``ca``."""
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    client_ctx = ssl.create_default_context(cafile=str(ca))
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=name)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (client, server):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    client.do_handshake()


def test_the_ca_is_constrained_and_still_vouches_for_the_platform(tmp_path: Path) -> None:
    files = ensure_local_certificates(tmp_path / "certs", "mockfleet.localhost", "local")
    assert files.ca_cert is not None
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert constraints.value.permitted_subtrees == [x509.DNSName("mockfleet.localhost")]
    handshake(files.ca_cert, files.instances_cert.read_bytes(), files.instances_key.read_bytes(), tmp_path,
              "mock-1.local.mockfleet.localhost")
    handshake(files.ca_cert, files.api_cert.read_bytes(), files.api_key.read_bytes(), tmp_path,
              "api.mockfleet.localhost")


def test_a_certificate_it_signs_for_another_domain_is_refused(tmp_path: Path) -> None:
    from mitmproxy.certs import CertStore

    files = ensure_local_certificates(tmp_path / "certs", "mockfleet.localhost", "local")
    assert files.ca_cert is not None
    store = CertStore.from_store(tmp_path / "certs", "mockfleet", 2048)  # what holds the CA's key can sign
    entry = store.get_cert("bank.example", [x509.DNSName("bank.example")], organization="mockfleet")
    key = entry.privatekey.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
    with pytest.raises(ssl.SSLCertVerificationError, match="(?i)name constraint|permitted subtree"):
        handshake(files.ca_cert, entry.cert.to_pem(), key, tmp_path, "bank.example")
