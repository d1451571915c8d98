"""`mockfleet import`, `export`, and `serve` / `deploy` given an OpenAPI spec, as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.conftest import ROOT, Platform, Worker, deploy_body, free_port, stop_worker

SPECS = Path(__file__).parent / "schemas" / "openapi_specs"
SMALL_SPEC = """\
openapi: 3.0.3
info: {title: Tiny shop, version: '1'}
servers: [{url: 'https://shop.example/api/v1'}]
paths:
  /items/{item-id}:
    get:
      summary: One item
      responses:
        '200':
          description: the item
          headers: {X-Stock: {schema: {type: integer}}}
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: string, example: abc}
                  on_sale: {type: boolean, enum: [true]}
        4XX: {description: client errors}
"""


def mockfleet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supervisor.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_import_then_export(tmp_path: Path) -> None:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SMALL_SPEC)
    done = mockfleet("import", "-i", str(spec), "-o", str(tmp_path / "env.json"), "--prettify")
    assert done.returncode == 0, done.stderr
    assert "warning: response '4XX' skipped" in done.stderr.replace("GET /items/{item-id}: ", "")
    env = json.loads((tmp_path / "env.json").read_text())
    assert (tmp_path / "env.json").read_text().startswith('{\n  "uuid"')
    (route,) = env["routes"]
    assert (env["name"], env["endpointPrefix"], route["endpoint"]) == ("Tiny shop", "api/v1", "items/:itemid")
    assert route["responses"][0]["body"] == '{\n  "id": "abc",\n  "on_sale": {{oneOf true}}\n}'
    assert route["responses"][0]["headers"][1] == {"key": "X-Stock", "value": "{{faker 'number.int' max=99999}}"}
    done = mockfleet("export", str(tmp_path / "env.json"), "-o", str(tmp_path / "out.yaml"))
    assert done.returncode == 0, done.stderr
    document = yaml.safe_load((tmp_path / "out.yaml").read_text())
    assert document["servers"] == [{"url": "http://localhost:3000/api/v1"}]
    assert list(document["paths"]["/items/{itemid}"]["get"]["responses"]) == ["200"]
    refused = mockfleet("import", str(SPECS / "LICENSE.mockoon"), "-o", str(tmp_path / "x.json"))
    assert refused.returncode == 1 and "Invalid JSON or YAML" in refused.stderr


def test_serve_takes_a_spec(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "supervisor.cli", "serve", str(SPECS / "petstore-v2.yaml"),
                             "--port", str(port), "--host", "127.0.0.1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)
    worker = Worker(proc, port, None)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                status, headers, body = worker.request("GET", "/v2/pet/12")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert status == 200 and headers["content-type"].startswith("application/json")
        pet = json.loads(body)
        assert pet["name"] == "doggie" and isinstance(pet["id"], int)  # the schema's example, a faker number
        assert worker.request("POST", "/v2/pet")[0] == 405  # the first response Swagger declares
    finally:
        stop_worker(worker)


def test_deploy_converts_a_spec_and_the_api_refuses_one(platform: Platform, tmp_path: Path) -> None:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SMALL_SPEC)
    args = ["--data-dir", str(platform.data_dir), "--subdomain", "spec-shop"]
    first = mockfleet("deploy", str(spec), *args, "--json")
    assert first.returncode == 0, first.stderr
    assert "converted the OpenAPI document" in first.stderr and "'4XX' skipped" in first.stderr
    uuid = json.loads(first.stdout)["environmentUuid"]
    status, _, body = platform.request(platform.host("spec-shop"), "GET", "/api/v1/items/7")
    assert status == 200 and json.loads(body.replace(b"{{oneOf true}}", b"true"))["id"] == "abc"
    again = mockfleet("deploy", str(spec), *args, "--json")  # the same spec re-deploys the same mock
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["environmentUuid"] == uuid
    status, answer = platform.api("POST", "/deployments", deploy_body(yaml.safe_load(SMALL_SPEC)))
    assert status == 422 and "mockfleet import" in answer["message"] and answer["path"] == "$"
