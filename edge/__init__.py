"""The network-facing process: TLS, host routing, auth, limits, forwarding (arriving with its issue)."""
