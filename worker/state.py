"""The one owner of an environment's mutable state: buckets, globals, request numbers, logs."""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from schemas import Environment

from .templating.jsvalues import UNDEFINED


@dataclass(slots=True)
class Bucket:
    id: str
    name: str
    uuid: str
    value: Any
    parsed: bool


@dataclass
class EnvironmentState:
    buckets: list[Bucket] = field(default_factory=list)
    global_vars: dict[str, Any] = field(default_factory=dict)
    request_numbers: dict[str, int] = field(default_factory=dict)
    logs: deque[Any] = field(default_factory=lambda: deque(maxlen=100))  # PendingTransaction records

    def find_bucket(self, name: str) -> Bucket | None:
        """Mockoon's lookup: exact id, or a name that contains the text (case-insensitive)."""
        lowered = name.lower()
        for bucket in self.buckets:
            if bucket.id == name or lowered in bucket.name.lower():
                return bucket
        return None

    def purge(self) -> None:
        self.global_vars.clear()
        for key in self.request_numbers:
            self.request_numbers[key] = 1


_REQUEST_HELPERS = re.compile(
    r"\{\{[^}]*\b(body|bodyRaw|method|ip|urlParam|urlParams|queryParam|queryParamRaw|queryParams|header|headers|cookie|baseUrl|hostname)\b"
)


def bucket_uses_request(value: str) -> bool:
    """Buckets that read the request are generated on first use, like Mockoon."""
    return bool(_REQUEST_HELPERS.search(value))


def make_bucket(bucket_id: str, name: str, uuid: str, text: str) -> Bucket:
    try:
        return Bucket(bucket_id, name, uuid, json.loads(text), True)
    except ValueError:
        return Bucket(bucket_id, name, uuid, text, False)


def initial_buckets(env: Environment, render: Any) -> tuple[list[Bucket], list[str]]:
    """Generate every bucket that does not need a request; return the deferred ids too."""
    buckets: list[Bucket] = []
    deferred: list[str] = []
    for bucket in env.data:
        if bucket_uses_request(bucket.value):
            deferred.append(bucket.id)
            buckets.append(Bucket(bucket.id, bucket.name, bucket.uuid, UNDEFINED, False))
            continue
        buckets.append(make_bucket(bucket.id, bucket.name, bucket.uuid, render(bucket.value)))
    return buckets, deferred
