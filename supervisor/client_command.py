"""User and operator commands: deploy, ls, rm, rotate-key (through the API), account and runtime (registry).

The API is reached at ``--api-url`` with ``--token`` (or MOCKFLEET_API_URL / MOCKFLEET_TOKEN /
MOCKFLEET_CA), else through the data directory's credentials and local API socket.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import ssl
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from schemas.platform_flags import add_registry_argument

from .settings import default_data_dir


class ClientError(Exception):
    pass


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--api-url", default=os.environ.get("MOCKFLEET_API_URL"))
    p.add_argument("--token", default=os.environ.get("MOCKFLEET_TOKEN"))
    p.add_argument("--ca", type=Path, default=os.environ.get("MOCKFLEET_CA"), help="CA certificate to trust")
    p.add_argument("--json", action="store_true", help="print the raw JSON answer")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deploy", help="deploy (or re-deploy) an environment file or an OpenAPI/Swagger spec")
    _common(p)
    p.add_argument("environment", type=Path)
    p.add_argument("--visibility", choices=["public", "private"], default="public")
    p.add_argument("--subdomain", default=None)
    p.add_argument("--uuid", default=None, help="environment uuid of a deployed OpenAPI spec "
                                                "(default: derived from the spec's path)")
    p.set_defaults(func=deploy)
    p = sub.add_parser("ls", help="list your deployments")
    _common(p)
    p.set_defaults(func=ls)
    p = sub.add_parser("rm", help="delete a deployment")
    _common(p)
    p.add_argument("uuid")
    p.set_defaults(func=rm)
    p = sub.add_parser("rotate-key", help="give a deployment a new API key (the old one stops working)")
    _common(p)
    p.add_argument("uuid")
    p.set_defaults(func=rotate_key)
    p = sub.add_parser("reset", help="return a deployment to its deployed state (data, variables, live updates)")
    _common(p)
    p.add_argument("uuid")
    p.set_defaults(func=reset)
    p = sub.add_parser("account", help="operator: accounts")
    account_sub = p.add_subparsers(dest="account_command", required=True)
    create = account_sub.add_parser("create", help="create an account and print its token once")
    create.add_argument("--data-dir", type=Path, default=default_data_dir())
    add_registry_argument(create)
    create.add_argument("--plan", default="team")
    create.add_argument("--name", default="account")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=account_create)
    set_plan = account_sub.add_parser("set-plan", help="move an account to another plan (the edge applies it "
                                                       "within 30 s)")
    set_plan.add_argument("--data-dir", type=Path, default=default_data_dir())
    set_plan.add_argument("account", type=int, help="account id (as `account create` printed it)")
    set_plan.add_argument("plan")
    set_plan.add_argument("--json", action="store_true")
    set_plan.set_defaults(func=account_set_plan)
    p = sub.add_parser("plan", help="operator: plans and their quotas")
    plan_sub = p.add_subparsers(dest="plan_command", required=True)
    plans = plan_sub.add_parser("ls")
    plans.add_argument("--data-dir", type=Path, default=default_data_dir())
    add_registry_argument(plans)
    plans.add_argument("--json", action="store_true")
    plans.set_defaults(func=plan_ls)
    plan_set = plan_sub.add_parser("set", help="create or change a plan (running instances pick it up within 30 s)")
    plan_set.add_argument("--data-dir", type=Path, default=default_data_dir())
    add_registry_argument(plan_set)
    plan_set.add_argument("name")
    plan_set.add_argument("--deployments", type=int, required=True)
    plan_set.add_argument("--monthly-requests", type=int, required=True)
    plan_set.add_argument("--requests-per-second", type=int, required=True)
    plan_set.add_argument("--max-body-mb", type=float, default=10.0, help="largest request body accepted")
    plan_set.add_argument("--max-state-mb", type=float, default=2.0,
                          help="largest state a mock keeps (data buckets, variables); writes beyond it get 507")
    plan_set.add_argument("--trial", action="store_true")
    plan_set.set_defaults(func=plan_set_command)
    p = sub.add_parser("runtime", help="operator: worker runtimes (schema-pinned)")
    runtime_sub = p.add_subparsers(dest="runtime_command", required=True)
    listing = runtime_sub.add_parser("ls")
    listing.add_argument("--data-dir", type=Path, default=default_data_dir())
    add_registry_argument(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=runtime_ls)
    add = runtime_sub.add_parser("add", help="register NAME for schemas up to --max-schema: mockfleet runtime add "
                                             "NAME --max-schema 33 -- COMMAND ARGS…")
    add.add_argument("--data-dir", type=Path, default=default_data_dir())
    add_registry_argument(add)
    add.add_argument("name")
    add.add_argument("--max-schema", type=int, required=True)
    add.set_defaults(func=runtime_add, takes_command=True, command_words=[])
    remove = runtime_sub.add_parser("rm", help="remove a runtime no deployment is pinned to")
    remove.add_argument("--data-dir", type=Path, default=default_data_dir())
    remove.add_argument("name")
    remove.set_defaults(func=runtime_rm)


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    credentials: dict[str, Any] = {}
    cred_path = Path(args.data_dir).expanduser() / "credentials.json"
    if cred_path.exists():
        credentials = json.loads(cred_path.read_text())
    token = args.token or credentials.get("token")
    if not token:
        raise ClientError("no token: pass --token, set MOCKFLEET_TOKEN, or run on the machine of `mockfleet up`")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn: http.client.HTTPConnection
    if args.api_url:
        url = urlsplit(args.api_url)
        ca = args.ca or credentials.get("caPath")
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        host = url.hostname or ""
        port = url.port or 443

        class Https(http.client.HTTPSConnection):
            def connect(self) -> None:
                # RFC 6761: *.localhost is loopback, whatever the resolver says
                address = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
                raw = socket.create_connection((address, port), timeout=120)
                self.sock = context.wrap_socket(raw, server_hostname=host)

        conn = Https(host, port, context=context, timeout=120)
        prefix = url.path.rstrip("/")
    else:
        api_socket = credentials.get("apiSocket")
        if not api_socket:
            raise ClientError("no API: pass --api-url or --data-dir of a running `mockfleet up`")

        class Local(http.client.HTTPConnection):
            def connect(self) -> None:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.settimeout(120)
                self.sock.connect(str(api_socket))

        conn = Local("api", timeout=120)
        prefix = ""
    try:
        conn.request(method, prefix + path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        payload = json.loads(response.read() or b"null")
    except OSError as error:
        raise ClientError(f"cannot reach the API: {error}") from error
    finally:
        conn.close()
    if response.status >= 400:
        message = payload.get("message") if isinstance(payload, dict) else payload
        where = f" (at {payload['path']})" if isinstance(payload, dict) and payload.get("path") else ""
        raise ClientError(f"{response.status}: {message}{where}")
    return payload


def _print(args: argparse.Namespace, payload: Any, text: str) -> None:
    print(json.dumps(payload, indent=2) if args.json else text)


def _run(func: Any, args: argparse.Namespace) -> int:
    try:
        func(args)
    except ClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def deploy(args: argparse.Namespace) -> int:
    def go(args: argparse.Namespace) -> None:
        environment = _environment_or_spec(args)
        answer = _call(args, "POST", "/deployments", {
            "environment": environment, "visibility": args.visibility.upper(), "subdomain": args.subdomain,
            "region": None, "liveUpdate": False, "version": "mockfleet-cli"})
        lines = [f"deployed {answer['name']!r} ({answer['environmentUuid']}) on runtime {answer.get('runtime')}",
                 f"  url      {answer['url']}", f"  access   {answer['visibility'].lower()}"]
        if answer["visibility"] == "PRIVATE":
            lines.append(f"  api key  {answer['apiKey']}")
        for warning in answer.get("warnings", []):
            lines.append(f"  warning  {warning['message']} ({warning['path']})")
        _print(args, answer, "\n".join(lines))
    return _run(go, args)


def _environment_or_spec(args: argparse.Namespace) -> Any:
    """The environment to deploy; an OpenAPI/Swagger spec is converted here (the API takes
    environments only), its environment uuid fixed by ``--uuid`` or the spec's path, so deploying
    the same spec again re-deploys the same mock."""
    import uuid

    from schemas import SchemaError
    from schemas.environment_source import read_environment_source

    path = args.environment
    spec_uuid = args.uuid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"mockfleet-openapi:{path.resolve()}"))
    try:
        source = read_environment_source(path.read_bytes(), spec_uuid=spec_uuid)
    except OSError as error:
        raise ClientError(f"cannot read {path}: {error.strerror}") from error
    except SchemaError as error:
        raise ClientError(f"{path}: {error}") from error
    for warning in source.warnings:
        print(f"warning: openapi import: {warning}", file=sys.stderr)
    if source.from_spec:
        print(f"converted the OpenAPI document {path} to an environment ({source.environment['uuid']})",
              file=sys.stderr)
    return source.environment


def ls(args: argparse.Namespace) -> int:
    def go(args: argparse.Namespace) -> None:
        answer = _call(args, "GET", "/deployments")
        rows = [f"{'UUID':36}  {'STATUS':8}  {'ACCESS':8}  URL"]
        rows += [f"{d['environmentUuid']:36}  {d.get('state', d['status']):8}  {d['visibility'].lower():8}  {d['url']}"
                 for d in answer]
        _print(args, answer, "\n".join(rows) if answer else "no deployments")
    return _run(go, args)


def rm(args: argparse.Namespace) -> int:
    def go(args: argparse.Namespace) -> None:
        answer = _call(args, "DELETE", f"/deployments/{args.uuid}")
        _print(args, answer, f"deleted {args.uuid} ({answer['url']} now answers 404)")
    return _run(go, args)


def rotate_key(args: argparse.Namespace) -> int:
    def go(args: argparse.Namespace) -> None:
        answer = _call(args, "POST", f"/deployments/{args.uuid}/api-key")
        _print(args, answer, f"new API key for {args.uuid}: {answer['apiKey']}")
    return _run(go, args)


def reset(args: argparse.Namespace) -> int:
    def go(args: argparse.Namespace) -> None:
        answer = _call(args, "POST", f"/deployments/{args.uuid}/reset")
        _print(args, answer, f"{args.uuid} is back to its deployed state (revision {answer['revision']})")
    return _run(go, args)


def _registry(args: argparse.Namespace) -> Any:
    from .registry import Registry
    from .settings import Settings

    settings = Settings(data_dir=args.data_dir, registry=getattr(args, "registry", ""))
    settings.prepare()
    return Registry(settings.registry_target)


def account_create(args: argparse.Namespace) -> int:
    from .registry import RegistryError

    registry = _registry(args)
    try:
        account, token = registry.create_account(args.name, args.plan)
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        registry.close()
    payload = {"id": account.id, "name": account.name, "plan": account.plan, "token": token}
    _print(args, payload, f"account {account.id} ({account.plan}) created; token (shown once): {token}")
    return 0


def runtime_ls(args: argparse.Namespace) -> int:
    from .service import builtin_runtime

    registry = _registry(args)
    try:
        runtimes = registry.runtimes() or [builtin_runtime()]
    finally:
        registry.close()
    payload = [{"name": r.name, "maxSchema": r.max_schema, "command": r.command} for r in runtimes]
    rows = [f"{r.name:20} schema<={r.max_schema:<3} {' '.join(r.command)}" + ("   (newest)" if i == 0 else "")
            for i, r in enumerate(runtimes)]
    _print(args, payload, "\n".join(rows))
    return 0


def runtime_add(args: argparse.Namespace) -> int:
    from .registry import RegistryError, Runtime

    words: list[str] = args.command_words
    command = words[1:] if words[:1] == ["--"] else words
    if not command:
        print("error: give the runtime's command after --", file=sys.stderr)
        return 2
    registry = _registry(args)
    try:
        registry.register_runtime(Runtime(name=args.name, command=command, max_schema=args.max_schema))
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        registry.close()
    print(f"runtime {args.name} registered for schemas up to {args.max_schema}; new deploys use it, "
          "running deployments keep theirs until re-deployed")
    return 0


def runtime_rm(args: argparse.Namespace) -> int:
    from .registry import RegistryError

    registry = _registry(args)
    try:
        registry.remove_runtime(args.name)
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        registry.close()
    print(f"runtime {args.name} removed")
    return 0


def account_set_plan(args: argparse.Namespace) -> int:
    from .registry import RegistryError

    registry = _registry(args)
    try:
        account = registry.set_account_plan(args.account, args.plan)
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        registry.close()
    payload = {"id": account.id, "name": account.name, "plan": account.plan}
    _print(args, payload, f"account {account.id} ({account.name}) is on plan {account.plan}; "
                          "the edge applies its limits within 30 s")
    return 0


def plan_ls(args: argparse.Namespace) -> int:
    registry = _registry(args)
    try:
        plans = registry.plans()
    finally:
        registry.close()
    payload = [{"name": p.name, "deployments": p.deployments_quota, "monthlyRequests": p.monthly_requests_quota,
                "requestsPerSecond": p.requests_per_second, "trial": p.trial, "maxBodyBytes": p.max_body_bytes,
                "maxStateBytes": p.max_state_bytes}
               for p in plans]
    rows = [f"{'PLAN':10} {'DEPLOYMENTS':>11} {'REQUESTS/MONTH':>15} {'REQ/S':>6}"]
    rows += [f"{p.name:10} {p.deployments_quota:>11} {p.monthly_requests_quota:>15,} {p.requests_per_second:>6}"
             + ("  trial" if p.trial else "") for p in plans]
    _print(args, payload, "\n".join(rows))
    return 0


def plan_set_command(args: argparse.Namespace) -> int:
    from .registry import PlanRow

    if min(args.deployments, args.monthly_requests, args.requests_per_second) < 0:
        print("error: quotas must be 0 or more", file=sys.stderr)
        return 2
    registry = _registry(args)
    try:
        registry.set_plan(PlanRow(name=args.name.upper(), deployments_quota=args.deployments,
                                  monthly_requests_quota=args.monthly_requests,
                                  requests_per_second=args.requests_per_second, trial=args.trial,
                                  max_body_bytes=int(args.max_body_mb * 1024 * 1024),
                                  max_state_bytes=int(args.max_state_mb * 1024 * 1024)))
    finally:
        registry.close()
    print(f"plan {args.name.upper()} saved")
    return 0
