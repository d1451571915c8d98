"""The one owner of an environment's mutable state: buckets, globals, request numbers, logs."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas import Environment

from .jsvalues import js_json_parse
from .state_budget import StateBudget
from .templating.errors import TemplateError


@dataclass(slots=True)
class Bucket:
    """A processed data bucket, as Mockoon keeps it: generated yet or not, and valid JSON or text."""

    id: str
    name: str
    uuid: str
    value: Any
    parsed: bool  # generated (buckets reading the request wait for the first route that names them)
    valid_json: bool


@dataclass
class EnvironmentState:
    buckets: list[Bucket] = field(default_factory=list)
    global_vars: dict[str, Any] = field(default_factory=dict)
    request_numbers: dict[str, int] = field(default_factory=dict)
    logs: deque[Any] = field(default_factory=lambda: deque(maxlen=100))  # PendingTransaction records
    env_var_writes: dict[str, str] = field(default_factory=dict)  # set through the admin API: durable state
    changes: int = 0  # bumped by every request and admin write; the state pusher compares it
    budget: StateBudget | None = None  # the plan's cap on state size, when the deployment has one
    on_change: Callable[[], None] | None = None  # wakes the state pusher (worker/state_sync.py)

    def touch(self) -> None:
        """Something may have changed: costs an increment, and a wake-up only when a pusher waits."""
        self.changes += 1
        if self.on_change is not None:
            self.on_change()

    def reserve(self, value: Any) -> None:
        """Make room for a write of ``value`` or raise ``StateFull`` before anything is changed."""
        if self.budget is not None:
            self.budget.reserve(value)
    callback_logs: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100))  # callbacks.py records

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


# Mockoon's test for "reads the request": a request helper right after an opening brace pair
_REQUEST_HELPER_NAMES = ("body", "bodyRaw", "method", "ip", "urlParam", "urlParams", "queryParam", "queryParamRaw",
                         "queryParams", "header", "headers", "cookie", "baseUrl", "hostname")
_REQUEST_HELPERS = re.compile(r"\{{2,3}[#(~\s\w ]*((?<!\w)" + "|".join(_REQUEST_HELPER_NAMES) + r")[)} ~]+")
# how Mockoon finds the buckets a text names: data 'id' / dataRaw "name"
_BUCKET_REFERENCE = re.compile(r"""data(?:Raw)? +['|"]([^('|")]*)""")


def bucket_uses_request(value: str) -> bool:
    """Buckets that read the request are generated on first use, like Mockoon."""
    return bool(_REQUEST_HELPERS.search(value))


def bucket_references(text: str | None) -> list[str]:
    return _BUCKET_REFERENCE.findall(text) if text else []


def generate_bucket(bucket: Bucket, source: str, render: Any) -> None:
    """Render a bucket's text and keep JSON as data; Mockoon keeps a template error's message."""
    try:
        text = render(source)
    except TemplateError as error:
        bucket.value, bucket.valid_json = str(error), False
    else:
        try:
            bucket.value, bucket.valid_json = js_json_parse(text), True
        except ValueError:
            bucket.value, bucket.valid_json = text, False
    bucket.parsed = True


def initial_buckets(env: Environment, render: Any) -> list[Bucket]:
    """Generate every bucket that does not read the request; the others keep their text for now."""
    buckets: list[Bucket] = []
    for source in env.data:
        bucket = Bucket(source.id, source.name, source.uuid, source.value, False, False)
        if not bucket_uses_request(source.value):
            generate_bucket(bucket, source.value, render)
        buckets.append(bucket)
    return buckets
