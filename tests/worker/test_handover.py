"""Both ways into a worker go through one ``WorkerHandover``: an environment file (``mockfleet
serve``) and the supervisor's hand-over on stdin. A route a migration disabled stays refused."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from schemas import decode_environment
from schemas.handover import WorkerHandover, encode_handover
from tests.conftest import ROOT, Worker, _wait_ready, start_worker, stop_worker

ON = "a0000000-0000-4000-8000-0000000000a1"
OFF = "a0000000-0000-4000-8000-0000000000a2"


def _response(uuid: str, **fields: Any) -> dict[str, Any]:
    return {"uuid": uuid, "body": "{}", "latency": 0, "statusCode": 200, "label": "", "headers": [], "filePath": "",
            "sendFileAsBody": False, "rules": [], "rulesOperator": "OR", "disableTemplating": False,
            "fallbackTo404": False, "default": True, "databucketID": "", "bodyType": "INLINE", "crudKey": "id",
            **fields}


# Written by Mockoon before schema 31, when "enabled" was still in the file.
SCHEMA_30: dict[str, Any] = {
    "uuid": "e0000000-0000-4000-8000-0000000000e1", "lastMigration": 30, "name": "old", "endpointPrefix": "",
    "latency": 0, "port": 3000, "hostname": "", "folders": [], "proxyMode": False, "proxyHost": "",
    "proxyRemovePrefix": False, "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "",
                                               "keyPath": "", "caPath": "", "passphrase": ""},
    "cors": True, "headers": [], "proxyReqHeaders": [], "proxyResHeaders": [], "data": [], "callbacks": [],
    "routes": [
        {"uuid": ON, "type": "http", "documentation": "", "method": "get", "endpoint": "on", "enabled": True,
         "responseMode": None, "responses": [_response("b0000000-0000-4000-8000-0000000000b1", statusCode=99)]},
        {"uuid": OFF, "type": "http", "documentation": "", "method": "get", "endpoint": "off", "enabled": False,
         "responseMode": None, "responses": [_response("b0000000-0000-4000-8000-0000000000b2")]},
    ],
    "rootChildren": [{"type": "route", "uuid": ON}, {"type": "route", "uuid": OFF}],
}


def schema_30() -> dict[str, Any]:
    return copy.deepcopy(SCHEMA_30)


def test_serve_refuses_the_disabled_route_and_prints_each_repair(tmp_path: Path) -> None:
    worker = start_worker(schema_30(), tmp_path)
    try:
        assert worker.request("GET", "/on")[0] == 200  # statusCode 99 repaired to Mockoon's 200
        assert worker.request("GET", "/off")[0] == 404
    finally:
        stop_worker(worker)
    assert worker.proc.stderr is not None
    output = worker.proc.stderr.read().decode()
    assert "warning: repaired $.routes[0].responses[0].statusCode: 99 is not a number from 100 to 999" in output
    assert f"disabled by a migration are not served: {OFF}" in output


def test_the_supervisors_hand_over_is_served_the_same_way(tmp_path: Path) -> None:
    """What ``supervisor.workers.spawn`` writes to a spare worker's stdin, with a real worker process."""
    env, report = decode_environment(json.dumps(schema_30()))
    assert report.disabled_routes == [OFF]
    payload = encode_handover(WorkerHandover(environment=env, disabled_routes=report.disabled_routes,
                                             repairs=report.repairs, admin_token="secret"))
    sock = tmp_path / "w.sock"
    proc = subprocess.Popen([sys.executable, "-m", "worker", "-", "--uds", str(sock), "--handover"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            start_new_session=True)
    assert proc.stdin is not None
    proc.stdin.write(payload)
    proc.stdin.close()
    worker = Worker(proc, None, sock)
    try:
        _wait_ready(worker, time.monotonic() + 20)
        assert worker.request("GET", "/on")[0] == 200
        assert worker.request("GET", "/off")[0] == 404
        assert worker.request("GET", "/mockoon-admin/logs", headers={"Authorization": "Bearer secret"})[0] == 200
    finally:
        stop_worker(worker)
    assert proc.stderr is not None
    assert "warning: repaired $.routes[0].responses[0].statusCode" in proc.stderr.read().decode()


def test_a_broken_hand_over_stops_the_worker_with_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "worker", "-", "--uds", str(tmp_path / "w.sock"), "--handover"],
                          input=b'{"adminToken": "t"}\n{"routes": 5}', capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 1
    assert b"invalid hand-over from the supervisor: $.routes: expected array" in proc.stderr.lower()

