"""The supervisor's core: deployments (validate, pin, spawn, switch), lookups for the edge,
usage, and the watch loop that restarts, limits and resumes workers.

State that must survive a crash lives in the registry; what is in memory (processes, crash
counters, subscribers) is rebuilt at start by adopting live workers or starting new ones.
"""

from __future__ import annotations

import copy
import logging
import re
import secrets
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec
import psutil
import trio

from schemas import (
    HIGHEST_MIGRATION,
    Environment,
    Repair,
    SchemaError,
    UnsupportedSchemaVersion,
    encode_environment,
    environment_from_obj,
)
from schemas.control import Invalidate, Target, UsageAck, Woken
from schemas.decode import check_depth, too_deep
from schemas.deployments import (
    ENVIRONMENT_UUID,
    ENVIRONMENT_UUID_RULE,
    DeployInstance,
    DeployRequest,
    SubdomainCheck,
)
from schemas.handover import WorkerHandover
from schemas.sanitise import sanitise_for_cloud

from . import workers
from .registry import (
    Account,
    Deployment,
    OwnedElsewhere,
    QuotaExceeded,
    Registry,
    Runtime,
    digest,
    next_reset,
)
from .settings import Settings
from .workers import CpuWindow, CrashTracker, WorkerProcess, WorkerStartError

log = logging.getLogger("mockfleet.supervisor")

SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{3,48})[a-z0-9]$")
RESERVED_SUBDOMAINS = frozenset({"api", "www", "admin", "app", "status", "metrics", "mail", "edge", "supervisor",
                                 "mockoon", "mockoon-admin", "dashboard", "console", "static", "assets", "login"})
BUILTIN_RUNTIME = "builtin"
MAX_ENVIRONMENT = 20 * 1024 * 1024


class ApiError(Exception):
    """An answer other than success, with its status; the message is what the user reads."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def builtin_runtime() -> Runtime:
    return Runtime(name=BUILTIN_RUNTIME, command=[sys.executable, "-m", "worker"], max_schema=HIGHEST_MIGRATION)


def subdomain_problem(subdomain: str) -> str | None:
    if not isinstance(subdomain, str) or not SUBDOMAIN.match(subdomain):
        return ("subdomain must be 5 to 50 characters of a-z, 0-9 and '-', "
                "and must not start or end with '-'")
    if subdomain in RESERVED_SUBDOMAINS:
        return f"subdomain {subdomain!r} is reserved"
    return None


@dataclass
class Slot:
    """In-memory companion of a deployment: its process and watch counters."""

    worker: WorkerProcess | None = None
    crashes: CrashTracker = field(default_factory=CrashTracker)
    cpu: CpuWindow = field(default_factory=CpuWindow)
    restart_at: float = 0.0
    last_request: float = field(default_factory=time.monotonic)
    lock: trio.Lock = field(default_factory=trio.Lock)


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.prepare()
        self.registry = Registry(settings.registry_path)
        self.slots: dict[str, Slot] = {}
        self.events: dict[str, deque[str]] = {}
        self.subscribers: set[trio.MemorySendChannel[Invalidate]] = set()
        self.nursery: trio.Nursery | None = None
        self.spares = workers.SparePool(settings)
        self.closing = False
        if self.registry.runtime(BUILTIN_RUNTIME) is None or self.registry.runtime(BUILTIN_RUNTIME) != builtin_runtime():
            self.registry.add_runtime(builtin_runtime())

    # --- lifecycle -------------------------------------------------------------------------
    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self.spares.warm(self.newest_runtime().command)
            await self.resume()
            nursery.start_soon(self._watch)
            task_status.started()

    async def resume(self) -> None:
        """Adopt workers that outlived the previous supervisor; start the others."""
        self._reap_orphans()
        async with trio.open_nursery() as nursery:
            for deployment in self.registry.deployments():
                if deployment.status not in ("RUNNING", "STARTING"):
                    continue
                slot = self._slot(deployment.environment_uuid)
                adopted = workers.adopt(self.settings, deployment.environment_uuid, deployment.revision,
                                        deployment.worker_pid, deployment.worker_started, deployment.worker_socket)
                if adopted is not None and await workers.probe(adopted.socket):
                    slot.worker = adopted
                    self._event(deployment.environment_uuid, f"adopted worker pid {adopted.pid}")
                    continue
                nursery.start_soon(self._restart, deployment.environment_uuid, "supervisor restart")

    def _reap_orphans(self) -> None:
        """Workers of deploys that were never recorded (supervisor killed mid-deploy) are stopped."""
        known = {d.worker_socket for d in self.registry.deployments() if d.worker_socket}
        run_dir = str(self.settings.run_dir)
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            sockets = [a for a in cmdline if a.startswith(run_dir + "/w-")]
            if sockets and sockets[0] not in known:
                try:
                    proc.kill()
                except psutil.Error:
                    pass

    async def shutdown(self) -> None:
        """Stop every worker; their deployments stay RUNNING in the registry and resume next start."""
        self.closing = True  # restarts still in flight stop the worker they get (see _restart)
        async with trio.open_nursery() as nursery:
            for slot in self.slots.values():
                if slot.worker is not None:
                    nursery.start_soon(workers.stop, slot.worker, self.settings.worker_drain_seconds + 3)
                    slot.worker = None
        self.spares.close()

    def _slot(self, uuid: str) -> Slot:
        slot = self.slots.get(uuid)
        if slot is None:
            slot = self.slots[uuid] = Slot()
        return slot

    def _event(self, uuid: str, text: str) -> None:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {text}"
        self.events.setdefault(uuid, deque(maxlen=50)).append(line)
        log.info("%s: %s", uuid, text)

    def _invalidate(self, *hosts: str) -> None:
        message = Invalidate(list(hosts))
        for channel in list(self.subscribers):
            try:
                channel.send_nowait(message)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                # a subscriber that cannot keep up is cut off; on reconnect it starts from an empty cache
                self.subscribers.discard(channel)
                channel.close()

    def host_of(self, subdomain: str) -> str:
        return f"{subdomain}{self.settings.instances_host_suffix}"

    # --- runtimes ------------------------------------------------------------------------------
    def newest_runtime(self) -> Runtime:
        return self.registry.runtimes()[0]

    def _handover(self, env: Environment, *, disabled_routes: list[str], repairs: list[Repair], admin_token: str,
                  subdomain: str, max_body: int) -> WorkerHandover:
        return WorkerHandover(environment=env, disabled_routes=disabled_routes, repairs=repairs,
                              admin_token=admin_token, max_request_body_size=max_body,
                              public_base_url=self.settings.instance_url(subdomain))

    def _max_body(self, account_id: int) -> int:
        return self.registry.plan(self.registry.account(account_id).plan).max_body_bytes

    # --- deployments API -----------------------------------------------------------------------
    def instance(self, deployment: Deployment) -> dict[str, Any]:
        info = DeployInstance(
            environment_uuid=deployment.environment_uuid, subdomain=deployment.subdomain,
            url=self.settings.instance_url(deployment.subdomain), visibility=deployment.visibility,  # type: ignore[arg-type]
            status="RUNNING" if deployment.status == "RUNNING" else "STOPPED", name=deployment.name,
            api_key=deployment.api_key, region=deployment.region, live_update=deployment.live_update)
        return msgspec.to_builtins(info)

    def check_subdomain(self, account: Account, body: bytes) -> None:
        try:
            check = msgspec.json.decode(body, type=SubdomainCheck)
        except msgspec.ValidationError as error:
            raise ApiError(422, f"invalid request: {error}") from None
        except msgspec.DecodeError as error:
            raise ApiError(400, f"invalid JSON: {error}") from None
        problem = subdomain_problem(check.subdomain)
        if problem:
            raise ApiError(422, problem)
        owner = self.registry.deployment_by_subdomain(check.subdomain)
        if owner is not None and owner.environment_uuid != check.environment_uuid:
            raise ApiError(409, f"subdomain {check.subdomain!r} is already taken")

    def _parse_deploy(self, body: bytes) -> DeployRequest:
        if len(body) > MAX_ENVIRONMENT:
            raise ApiError(413, f"environment exceeds {MAX_ENVIRONMENT} bytes")
        try:
            request = msgspec.json.decode(body, type=DeployRequest)
        except msgspec.ValidationError as error:
            raise ApiError(422, f"invalid deploy request: {error}") from None
        except msgspec.DecodeError as error:
            raise ApiError(400, f"invalid JSON: {error}") from None
        except RecursionError:  # msgspec recurses once per level, so this is far past the limit
            deep = too_deep()
            raise ApiError(422, f"invalid environment: {deep}", path=deep.path) from None
        try:
            check_depth(request.environment)  # before anything recursive (deepcopy, migrations) walks it
        except SchemaError as error:
            raise ApiError(422, f"invalid environment: {error}", path=error.path) from None
        return request

    async def deploy(self, account: Account, body: bytes) -> dict[str, Any]:
        request = self._parse_deploy(body)
        if "openapi" in request.environment or "swagger" in request.environment:
            raise ApiError(422, "invalid environment: this is an OpenAPI/Swagger document, not a Mockoon environment; "
                                "import it first (`mockfleet import SPEC -o ENV.json`, or `mockfleet deploy SPEC` "
                                "converts it on the way)", path="$")
        given_uuid = request.environment.get("uuid")
        if not isinstance(given_uuid, str) or not given_uuid:
            raise ApiError(422, "invalid environment: $.uuid: expected a non-empty string", path="$.uuid")
        if ENVIRONMENT_UUID.fullmatch(given_uuid) is None:  # it must name the deployment in URLs
            raise ApiError(422, f"invalid environment: $.uuid: {given_uuid[:60]!r} is not a valid environment "
                                f"uuid ({ENVIRONMENT_UUID_RULE})", path="$.uuid")
        runtime = self.newest_runtime()
        raw = copy.deepcopy(request.environment)
        try:
            env, report = environment_from_obj(raw, runtime.max_schema)
        except UnsupportedSchemaVersion as error:
            raise ApiError(422, f"environment schema {error.found} is newer than the newest runtime "
                                f"({runtime.name}, schema {runtime.max_schema}); upgrade the platform or "
                                "export the environment from an older Mockoon", path="$.lastMigration") from None
        except SchemaError as error:
            raise ApiError(422, f"invalid environment: {error}", path=error.path) from None
        env, warnings = sanitise_for_cloud(env)
        env.last_migration = runtime.max_schema
        plan = self.registry.plan(account.plan)
        uuid = env.uuid
        slot = self._slot(uuid)
        async with slot.lock:
            previous = self.registry.deployment(uuid)
            if previous is not None and previous.account_id != account.id:
                raise ApiError(409, f"environment {uuid} is deployed by another account; change its UUID to deploy a copy")
            if previous is None and self.registry.count_deployments(account.id) >= plan.deployments_quota:
                raise ApiError(403, f"deployments quota reached: your {plan.name} plan allows "
                                    f"{plan.deployments_quota} deployment(s); delete one or upgrade")
            subdomain = request.subdomain or (previous.subdomain if previous else self._generate_subdomain())
            problem = subdomain_problem(subdomain)
            if problem:
                raise ApiError(422, problem, path="$.subdomain")
            owner = self.registry.deployment_by_subdomain(subdomain)
            if owner is not None and owner.environment_uuid != uuid:
                raise ApiError(409, f"subdomain {subdomain!r} is already taken")
            migrated = encode_environment(env)
            uploaded = msgspec.json.encode(request.environment)
            warning_list = [msgspec.to_builtins(w) for w in [*report.repairs, *warnings]]
            admin_token = previous.admin_token if previous else secrets.token_urlsafe(32)
            revision = previous.revision + 1 if previous else 1
            try:
                handover = self._handover(env, disabled_routes=report.disabled_routes, repairs=report.repairs,
                                          admin_token=admin_token, subdomain=subdomain, max_body=plan.max_body_bytes)
                worker = await workers.spawn(self.settings, deployment=uuid, revision=revision,
                                             command=runtime.command, handover=handover, pool=self.spares)
            except WorkerStartError as error:
                self._event(uuid, f"deploy failed: {error}")
                if previous is not None:
                    self.registry.set_status(uuid, previous.status, last_error=f"re-deploy failed: {error}")
                raise ApiError(422, f"the environment could not be started: {error}; "
                                    + ("the previous version keeps serving" if previous else "nothing was deployed"),
                               stderr=error.stderr_tail) from None
            try:
                saved = self.registry.save_deployment(
                    account_id=account.id, environment_uuid=uuid, subdomain=subdomain, name=env.name,
                    visibility=request.visibility, region=request.region or self.settings.region,
                    live_update=request.live_update, runtime=runtime.name, uploaded=uploaded, migrated=migrated,
                    warnings=warning_list, disabled_routes=report.disabled_routes, quota=plan.deployments_quota,
                    admin_token=admin_token,
                    worker_pid=worker.pid, worker_started=worker.started, worker_socket=str(worker.socket))
            except (QuotaExceeded, OwnedElsewhere) as error:
                await workers.stop(worker, 1)
                raise ApiError(403 if isinstance(error, QuotaExceeded) else 409, str(error)) from None
            except BaseException:
                await workers.stop(worker, 1)
                raise
            old = slot.worker
            slot.worker = worker
            slot.crashes.reset()
            slot.cpu = CpuWindow()
            slot.last_request = time.monotonic()
            hosts = [self.host_of(subdomain)]
            if previous is not None and previous.subdomain != subdomain:
                hosts.append(self.host_of(previous.subdomain))
            self._invalidate(*hosts)
            self._event(uuid, f"{'re-deployed' if previous else 'deployed'} revision {revision} on runtime "
                              f"{runtime.name} (worker pid {worker.pid})")
            if old is not None and self.nursery is not None:
                self.nursery.start_soon(self._retire, old)
        result = self.instance(saved)
        result["warnings"] = warning_list
        result["runtime"] = runtime.name
        result["migratedFrom"] = report.from_version
        return result

    async def _retire(self, worker: WorkerProcess) -> None:
        """The old revision keeps its socket until the edge has switched and drained."""
        try:
            await trio.sleep(self.settings.worker_drain_seconds)
        except BaseException:
            worker.signal(signal.SIGTERM)  # the supervisor is stopping: hypercorn finishes and exits
            raise
        await workers.stop(worker)

    def _generate_subdomain(self) -> str:
        while True:
            candidate = f"mock-{secrets.token_hex(4)}"
            if self.registry.deployment_by_subdomain(candidate) is None:
                return candidate

    def owned(self, account: Account, uuid: str) -> Deployment:
        deployment = self.registry.deployment(uuid)
        if deployment is None or deployment.account_id != account.id:
            raise ApiError(404, f"no deployment {uuid}")
        return deployment

    async def delete(self, account: Account, uuid: str) -> dict[str, Any]:
        deployment = self.owned(account, uuid)
        slot = self._slot(uuid)
        async with slot.lock:
            self.registry.delete_deployment(uuid, account.id)
            self._invalidate(self.host_of(deployment.subdomain))
            worker, slot.worker = slot.worker, None
        if worker is not None:
            await workers.stop(worker, 5)
        self._event(uuid, "deleted")
        self.slots.pop(uuid, None)
        answer = self.instance(deployment)
        answer["status"] = "STOPPED"
        return answer

    def rotate_key(self, account: Account, uuid: str) -> dict[str, Any]:
        deployment = self.owned(account, uuid)
        self.registry.rotate_key(uuid)
        self._invalidate(self.host_of(deployment.subdomain))
        self._event(uuid, "API key rotated")
        found = self.registry.deployment(uuid)
        assert found is not None
        return self.instance(found)

    def details(self, account: Account, uuid: str) -> dict[str, Any]:
        deployment = self.owned(account, uuid)
        slot = self.slots.get(uuid)
        worker = slot.worker if slot else None
        answer = self.instance(deployment)
        measured = workers.measure(worker) if worker else None
        answer.update({
            "state": deployment.status,
            "runtime": deployment.runtime,
            "revision": deployment.revision,
            "warnings": deployment.warnings,
            "lastError": deployment.last_error,
            "requestsThisMonth": self.registry.deployment_usage(uuid),
            "worker": {"pid": worker.pid, "rssBytes": measured[0] if measured else None} if worker else None,
            "events": list(self.events.get(uuid, ())),
            "logTail": workers.tail(worker.log_path, 20) if worker else "",
            "createdAt": deployment.created_at,
            "updatedAt": deployment.updated_at,
        })
        return answer

    def account_info(self, account: Account) -> dict[str, Any]:
        plan = self.registry.plan(account.plan)
        return {
            "id": account.id, "name": account.name, "plan": plan.name, "trial": plan.trial,
            "deployInstancesQuota": plan.deployments_quota,
            "deployInstancesQuotaUsed": self.registry.count_deployments(account.id),
            "monthlyRequestsQuota": plan.monthly_requests_quota,
            "monthlyRequestsUsed": self.registry.monthly_usage(account.id),
            "requestsPerSecond": plan.requests_per_second,
            "maxRequestBodyBytes": plan.max_body_bytes,
            "nextQuotaResetOn": next_reset().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }

    # --- edge lookups ---------------------------------------------------------------------------
    def resolve(self, host: str) -> Target:
        host = host.lower().rsplit(":", 1)[0] if not host.startswith("[") else host.lower()
        if host == self.settings.api_host:
            return Target(host=host, kind="api", socket=str(self.settings.api_socket),
                          max_body=MAX_ENVIRONMENT + 1024 * 1024)
        suffix = self.settings.instances_host_suffix
        if not host.endswith(suffix):
            return Target(host=host, kind="none")
        subdomain = host[: -len(suffix)]
        deployment = self.registry.deployment_by_subdomain(subdomain) if "." not in subdomain else None
        if deployment is None:
            return Target(host=host, kind="none")
        slot = self.slots.get(deployment.environment_uuid)
        worker = slot.worker if slot else None
        plan = self.registry.plan(self.registry.account(deployment.account_id).plan)
        status = deployment.status if worker is not None or deployment.status != "RUNNING" else "STOPPED"
        return Target(
            host=host, kind="deployment", socket=str(worker.socket) if worker else "",
            deployment=deployment.environment_uuid, account=deployment.account_id,
            visibility=deployment.visibility,  # type: ignore[arg-type]
            key_digest=digest(deployment.api_key), admin_token=deployment.admin_token,
            requests_per_second=plan.requests_per_second, monthly_quota=plan.monthly_requests_quota,
            monthly_used=self.registry.monthly_usage(deployment.account_id),
            quota_resets_at=next_reset().timestamp(), max_body=plan.max_body_bytes,
            status=status)  # type: ignore[arg-type]

    async def wake(self, uuid: str) -> Woken:
        deployment = self.registry.deployment(uuid)
        if deployment is None:
            return Woken(ok=False, reason="no such instance")
        slot = self._slot(uuid)
        if slot.worker is not None and slot.worker.alive():
            return Woken(ok=True, socket=str(slot.worker.socket))
        if deployment.status == "FAILED":
            return Woken(ok=False, reason=f"instance is failing: {deployment.last_error}")
        await self._restart(uuid, "woken by a request")
        worker = slot.worker
        return Woken(ok=True, socket=str(worker.socket)) if worker else Woken(ok=False, reason="instance did not start")

    def usage(self, counts: dict[str, int]) -> UsageAck:
        now = time.monotonic()
        for uuid in counts:
            slot = self.slots.get(uuid)
            if slot is not None:
                slot.last_request = now
        used = self.registry.add_usage(counts)
        reset = next_reset().timestamp()
        return UsageAck(used=used, resets_at={account: reset for account in used})

    # --- watching ------------------------------------------------------------------------------
    async def _restart(self, uuid: str, why: str) -> None:
        slot = self._slot(uuid)
        async with slot.lock:
            if self.closing or (slot.worker is not None and slot.worker.alive()):
                return
            deployment = self.registry.deployment(uuid)
            if deployment is None:
                return
            runtime = self.registry.runtime(deployment.runtime) or builtin_runtime()
            try:
                env = msgspec.json.decode(deployment.environment_migrated, type=Environment)
                handover = self._handover(env, disabled_routes=deployment.disabled_routes, repairs=[],
                                          admin_token=deployment.admin_token, subdomain=deployment.subdomain,
                                          max_body=self._max_body(deployment.account_id))
                worker = await workers.spawn(self.settings, deployment=uuid, revision=deployment.revision,
                                             command=runtime.command, handover=handover, pool=self.spares)
            except WorkerStartError as error:
                self._event(uuid, f"start failed ({why}): {error}")
                self._crashed(uuid, slot, f"{error}\n{error.stderr_tail}")
                return
            if self.closing:
                await workers.stop(worker, 1.0)
                return
            slot.worker = worker
            slot.cpu = CpuWindow()
            slot.last_request = time.monotonic()
            self.registry.set_worker(uuid, status="RUNNING", pid=worker.pid, started=worker.started,
                                     socket=str(worker.socket))
            self._invalidate(self.host_of(deployment.subdomain))
            self._event(uuid, f"worker started ({why}), pid {worker.pid}")

    def _crashed(self, uuid: str, slot: Slot, detail: str) -> None:
        now = time.monotonic()
        if slot.crashes.record_exit(now):
            self.registry.set_status(uuid, "FAILED", last_error=f"crash loop: {detail.strip()[-2000:]}")
            self._event(uuid, "crash loop detected: not restarting until re-deployed")
            slot.restart_at = 0.0
        else:
            self.registry.set_status(uuid, "RUNNING", last_error=detail.strip()[-2000:])
            slot.restart_at = now + slot.crashes.delay

    async def _watch(self) -> None:
        """Every 250 ms: exits and restarts; every second: RSS and CPU limits, idle stops."""
        tick = 0
        while True:
            await trio.sleep(0.25)
            tick += 1
            now = time.monotonic()
            for uuid, slot in list(self.slots.items()):
                worker = slot.worker
                if worker is not None and not worker.stopping and not worker.alive():
                    code = worker.popen.returncode if worker.popen is not None else "?"
                    reason = worker.kill_reason or f"worker exited unexpectedly (status {code})"
                    self._event(uuid, reason)
                    slot.worker = None
                    self._crashed(uuid, slot, f"{reason}\n{workers.tail(worker.log_path)}")
                    deployment = self.registry.deployment(uuid)
                    if deployment is not None:
                        self._invalidate(self.host_of(deployment.subdomain))
                elif worker is None and slot.restart_at and now >= slot.restart_at:
                    slot.restart_at = 0.0
                    assert self.nursery is not None
                    self.nursery.start_soon(self._restart, uuid, "restart after exit")
                elif worker is not None and tick % 4 == 0:
                    self._check_limits(uuid, slot, worker, now)

    def _check_limits(self, uuid: str, slot: Slot, worker: WorkerProcess, now: float) -> None:
        measured = workers.measure(worker)
        if measured is None:
            return
        rss, cpu = measured
        settings = self.settings
        if rss > settings.worker_rss_limit:
            worker.kill_reason = (f"worker killed: memory {rss // 2**20} MiB over the limit of "
                                  f"{settings.worker_rss_limit // 2**20} MiB")
            worker.signal(signal.SIGKILL)
            return
        if slot.cpu.update(cpu, now, settings.worker_cpu_limit_percent, settings.worker_cpu_window):
            worker.kill_reason = (f"worker killed: CPU at {settings.worker_cpu_limit_percent:.0f}% or more for "
                                  f"{settings.worker_cpu_window:.0f}s")
            worker.signal(signal.SIGKILL)
            return
        if settings.idle_stop_seconds and now - slot.last_request > settings.idle_stop_seconds:
            deployment = self.registry.deployment(uuid)
            if deployment is not None and deployment.status == "RUNNING":
                slot.worker = None
                self.registry.set_worker(uuid, status="STOPPED")
                self._invalidate(self.host_of(deployment.subdomain))
                self._event(uuid, "stopped after idle period; the next request wakes it")
                assert self.nursery is not None
                self.nursery.start_soon(workers.stop, worker)
