"""The local CA, constrained to the platform's domain (RFC 5280 name constraints).

Operators import this CA into their trust stores to reach ``https://*.<server-id>.<domain>``; a
CA without constraints would let whoever reads its key (it sits in the data directory) mint a
trusted certificate for any site. Constrained, clients refuse anything it signs outside the domain.
mitmproxy's ``CertStore`` then issues the platform's certificates from it as before.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=3650)


def constrained_ca(domain: str, name: str, key_size: int = 2048) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed CA that may only sign names under ``domain`` (and ``domain`` itself)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} local CA for {domain}"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    usage = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False)
    certificate = (
        x509.CertificateBuilder().serial_number(x509.random_serial_number())
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .not_valid_before(now - datetime.timedelta(days=2)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.NameConstraints(permitted_subtrees=[x509.DNSName(domain)], excluded_subtrees=None),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def write_constrained_ca(cert_dir: Path, basename: str, domain: str) -> None:
    """Where ``CertStore.from_store(cert_dir, basename, …)`` looks: ``<basename>-ca.pem`` (key and
    certificate, mode 0600) and ``<basename>-ca-cert.pem`` (the certificate clients trust)."""
    key, certificate = constrained_ca(domain, basename)
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    fd = os.open(cert_dir / f"{basename}-ca.pem", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private + pem)
    (cert_dir / f"{basename}-ca-cert.pem").write_bytes(pem)
