"""Proxy mode and callbacks through ``mockfleet up``, behind the outbound guard.

A loopback upstream stands in for a public host: the operator opens it by name
(``--outbound-allow upstream.test:PORT``) and the stub resolver (``--outbound-resolve``) answers
that name, and ``rebind.test``, with 127.0.0.1 — no real DNS is asked. The same upstream reached
by its address, by ``localhost`` or by ``rebind.test`` is refused; so is a redirect to it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Platform, make_env, running_platform
from tests.e2e.test_platform import account, deploy
from tests.upstream_server import UpstreamServer

CALLBACK = "00000000-0000-4000-8000-0000000000c1"


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, upstream: UpstreamServer) -> Iterator[Platform]:
    yield from running_platform(
        tmp_path_factory, "outbound", "--outbound-allow", f"upstream.test:{upstream.port}",
        "--outbound-resolve", "upstream.test=127.0.0.1", "--outbound-resolve", "rebind.test=127.0.0.1",
        "--outbound-timeout", "2")


def _env(name: str, proxy_host: str = "", callback_uri: str = "") -> dict[str, Any]:
    route = {"uuid": str(uuidlib.uuid4()), "type": "http", "method": "post", "endpoint": "orders/:id",
             "responses": [{"uuid": str(uuidlib.uuid4()), "body": '{"order": "{{urlParam \'id\'}}"}',
                            "statusCode": 202, "default": True,
                            "callbacks": [{"uuid": CALLBACK, "latency": 0}] if callback_uri else []}]}
    callbacks = [{"uuid": CALLBACK, "id": "cb", "name": "notify", "method": "post", "uri": callback_uri,
                  "body": '{"order": "{{urlParam \'id\'}}"}'}] if callback_uri else []
    return make_env([route], uuid=str(uuidlib.uuid4()), name=name, proxyMode=bool(proxy_host),
                    proxyHost=proxy_host, callbacks=callbacks)


def _received(upstream: UpstreamServer, path: str) -> list[dict[str, Any]]:
    with upstream.lock:
        return [r for r in upstream.received if r["path"].startswith(path)]


def callback_records(platform: Platform, answer: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The worker's callback log, read through the edge with the deployment's key (admin API)."""
    deadline = time.monotonic() + 10
    records: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        status, _, body = platform.request(platform.host(answer["subdomain"]), "GET", "/mockoon-admin/callbacks",
                                           token=answer["apiKey"])
        assert status == 200, body
        records = json.loads(body)
        if len(records) >= count:
            return records
        time.sleep(0.2)
    raise AssertionError(f"callback records: {records}")


def test_proxy_and_callbacks_reach_the_opened_upstream(guarded: Platform, upstream: UpstreamServer) -> None:
    token = account(guarded)
    answer = deploy(guarded, token, _env("open", f"http://upstream.test:{upstream.port}/base",
                                         f"http://upstream.test:{upstream.port}/hook/{{{{urlParam 'id'}}}}"))
    assert not [w for w in answer["warnings"] if w["code"] in ("PROXY_DISABLED", "CALLBACK_DISABLED")], answer
    host = guarded.host(answer["subdomain"])
    status, headers, body = guarded.request(host, "GET", "/users?page=2", headers={"X-Client": "c"})
    assert status == 201, body
    seen = json.loads(body)
    assert seen["path"] == "/base/users?page=2" and ["host", f"upstream.test:{upstream.port}"] in seen["headers"]
    assert headers["x-upstream"] == "yes"
    status, _, body = guarded.request(host, "POST", "/orders/5", body=b"{}")
    assert status == 202 and json.loads(body) == {"order": "5"}
    records = callback_records(guarded, answer, 1)
    assert records[0]["status"] == 201 and records[0]["url"].endswith("/hook/5")
    assert json.loads(_received(upstream, "/hook/5")[0]["body"]) == {"order": "5"}
    details = guarded.api("GET", f"/deployments/{answer['environmentUuid']}", token=token)[1]
    assert details["outbound"]["requests"] == 2 and details["outbound"]["refused"] == 0


@pytest.mark.parametrize("where", ["http://127.0.0.1:{port}/base", "http://rebind.test:{port}/base",
                                   "http://localhost:{port}/base", "http://[::ffff:127.0.0.1]:{port}/base"])
def test_the_same_upstream_by_another_name_is_refused(guarded: Platform, upstream: UpstreamServer, where: str) -> None:
    token = account(guarded)
    target = where.format(port=upstream.port)
    answer = deploy(guarded, token, _env("closed", target))
    warning = next(w for w in answer["warnings"] if w["path"] == "$.proxyHost")
    assert warning["code"] == "PROXY_DISABLED" and "is not a public address" in warning["message"]
    assert warning["message"].endswith("loopback; requests no route answers get Mockoon's 504 proxy error")
    before = len(upstream.received)
    status, _, body = guarded.request(guarded.host(answer["subdomain"]), "GET", "/users")
    assert status == 504
    assert body.decode().startswith(f"An error occurred while trying to proxy to {target} /users: "
                                    "Error: refused by the outbound policy: ")
    assert len(upstream.received) == before
    status, _, logs = guarded.request(guarded.host(answer["subdomain"]), "GET", "/mockoon-admin/logs",
                                      token=answer["apiKey"])
    assert "refused by the outbound policy" in json.loads(logs)[-1]["response"]["body"]


def test_a_redirect_to_a_refused_address_is_not_followed(guarded: Platform, upstream: UpstreamServer) -> None:
    token = account(guarded)
    redirect = f"http://upstream.test:{upstream.port}/redirect?to=http://127.0.0.1:{upstream.port}/stolen"
    answer = deploy(guarded, token, _env("redirect", callback_uri=redirect))
    assert guarded.request(guarded.host(answer["subdomain"]), "POST", "/orders/1", body=b"{}")[0] == 202
    record = callback_records(guarded, answer, 1)[0]
    assert record["refused"] is True and f"127.0.0.1:{upstream.port} is not a public address" in record["error"]
    assert _received(upstream, "/redirect") and not _received(upstream, "/stolen")


def test_a_slow_upstream_is_cut_while_other_deployments_answer(guarded: Platform, upstream: UpstreamServer) -> None:
    token = account(guarded)
    slow = deploy(guarded, token, _env("slow", f"http://upstream.test:{upstream.port}"))
    other = deploy(guarded, token, _env("other"))
    outcome: dict[str, Any] = {}

    def call_slow() -> None:
        started = time.monotonic()
        outcome["answer"] = guarded.request(guarded.host(slow["subdomain"]), "GET", "/slow?seconds=10")
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=call_slow)
    thread.start()
    quick = []
    while thread.is_alive() and len(quick) < 4:
        started = time.monotonic()
        status = guarded.request(guarded.host(other["subdomain"]), "POST", "/orders/1", body=b"{}")[0]
        quick.append((status, time.monotonic() - started))
        time.sleep(0.3)
    thread.join(20)
    status, _, body = outcome["answer"]
    assert status == 504 and b"outbound total timeout" in body, body
    assert outcome["seconds"] < 8  # cut at 2 s (generous bound for a loaded machine)
    assert quick and all(s == 202 and seconds < 2 for s, seconds in quick), quick
    details = guarded.api("GET", f"/deployments/{slow['environmentUuid']}", token=token)[1]
    assert details["outbound"]["timedOut"] == 1


def test_invalid_outbound_rules_stop_the_start(tmp_path_factory: pytest.TempPathFactory) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "supervisor.cli", "up", "--data-dir",
                           str(tmp_path_factory.mktemp("bad") / "data"), "--outbound-allow", "10.0.0.0/33"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invalid outbound rule '10.0.0.0/33'" in done.stderr
