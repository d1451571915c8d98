"""The edge's TLS files: where the local CA and its certificates live, and the answer of
``python -m edge certificates`` (which makes them), so ``mockfleet up`` learns the CA's path
without importing the edge."""

from __future__ import annotations

from pathlib import Path

import msgspec

LOCAL_CA_BASENAME = "mockfleet"  # <basename>-ca.pem (key + certificate), <basename>-ca-cert.pem (to trust)


class TlsLocations(msgspec.Struct, kw_only=True, frozen=True):
    """The certificate chains and keys the edge serves; ``ca_cert`` is set when they come from the local CA."""

    instances_cert: str
    instances_key: str
    api_cert: str
    api_key: str
    ca_cert: str | None = None


def local_tls_files(cert_dir: Path) -> TlsLocations:
    """Where the local CA's files go in ``cert_dir`` (``PlatformPlaces.cert_dir``)."""
    return TlsLocations(instances_cert=str(cert_dir / "instances.crt"), instances_key=str(cert_dir / "instances.key"),
                        api_cert=str(cert_dir / "api.crt"), api_key=str(cert_dir / "api.key"),
                        ca_cert=str(cert_dir / f"{LOCAL_CA_BASENAME}-ca-cert.pem"))


def operator_tls_files(tls_cert: Path | None, tls_key: Path | None, api_tls_cert: Path | None,
                       api_tls_key: Path | None) -> TlsLocations | None:
    """The operator's own files (``--tls-cert/--tls-key``, the API's defaulting to them); None without both."""
    if not (tls_cert and tls_key):
        return None
    return TlsLocations(instances_cert=str(tls_cert), instances_key=str(tls_key),
                        api_cert=str(api_tls_cert or tls_cert), api_key=str(api_tls_key or tls_key))
