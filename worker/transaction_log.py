"""``serve --log-transaction``: each request as the JSON line ``mockoon-cli start --log-transaction``
prints (winston's JSON format: keys sorted, the transaction with its sensitive headers redacted)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def transaction_log_line(env_name: str, env_uuid: str, transaction: dict[str, Any], now: float) -> str:
    """One line for ``transaction`` (as the admin API's logs hold it) recorded at ``now`` (epoch s)."""
    request = transaction["request"]
    logged = {**transaction, "request": {**request, "method": request["method"].upper()}}
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({
        "app": "mockoon-server", "environmentName": env_name, "environmentUUID": env_uuid, "level": "info",
        "message": "Transaction recorded", "requestMethod": request["method"].upper(),
        "requestPath": request["urlPath"], "requestProxied": transaction.get("proxied", False),
        "responseStatus": transaction["response"]["statusCode"], "timestamp": stamp, "transaction": logged,
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
