"""The supervisor's core: deployments (validate, pin, spawn, switch), lookups for the edge,
usage, and the watch loop that restarts, limits and resumes workers.

State that must survive a crash lives in the registry; what is in memory (processes, crash
counters, subscribers) is rebuilt at start by adopting live workers or starting new ones.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
import psutil
import trio

from schemas import (
    HIGHEST_MIGRATION,
    Repair,
)
from schemas.control import Invalidate, Noted, Target, UpstreamFailed, UsageAck, Woken
from schemas.decode import MAX_ENVIRONMENT_BYTES
from schemas.deploy_validation import Refused, Validated, ValidationJob
from schemas.deployments import (
    DeployInstance,
    SubdomainCheck,
)
from schemas.edge_reports import UpstreamFailure
from schemas.handover import HandoverHeader, encode_handover_raw
from schemas.heartbeat import ALL_FLAGS, flag_names
from schemas.outbound import Guard, OutboundSettings
from schemas.worker_state import DeployedRevision, StateLink

from . import lifecycle, liveness, state_store, watch_budget, workers
from .deploy_admission import needs_uuid, peek_uuid, quota_refusal
from .fleet_member import FleetMember, FleetRefusal
from .lifecycle import (
    Adopt,
    Await,
    Delete,
    Deploy,
    Drained,
    Effect,
    Event,
    Exited,
    Forget,
    Kill,
    Life,
    Note,
    Record,
    Refuse,
    Resume,
    Retire,
    Serve,
    Shutdown,
    Spawn,
    Started,
    StartFailed,
    State,
    Stop,
    Terminate,
    Timer,
    Unhealthy,
)
from .metrics import DeploymentSample, SupervisorMetrics
from .orphans import Owned, SeenProcess, orphans
from .registry import (
    Account,
    Deployment,
    OwnedElsewhere,
    PlanRow,
    QuotaExceeded,
    Registry,
    Runtime,
    digest,
    next_reset,
)
from .settings import Settings
from .validator import Validator
from .workers import WorkerProcess, WorkerStartError

log = logging.getLogger("mockfleet.supervisor")

SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{3,48})[a-z0-9]$")
RESERVED_SUBDOMAINS = frozenset({"api", "www", "admin", "app", "status", "metrics", "mail", "edge", "supervisor",
                                 "mockoon", "mockoon-admin", "dashboard", "console", "static", "assets", "login"})
BUILTIN_RUNTIME = "builtin"
MAX_ENVIRONMENT = MAX_ENVIRONMENT_BYTES  # on the migrated environment (supervisor/deploy_validation.py)
PROBE_EVERY_TICKS = 12  # health probe of every worker each 3 s (ticks are 250 ms)
PROBE_TIMEOUT = 2.0
PROBE_STRIKES = 3


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
    """In-memory companion of a deployment: its lifecycle (``supervisor/lifecycle.py``), the
    processes of its workers by the lifecycle's numbers, and watch counters."""

    life: Life = field(default_factory=Life)
    procs: dict[int, WorkerProcess] = field(default_factory=dict)
    host: str = ""  # for invalidations once the registry row is gone
    probe_failures: int = 0  # health probes in a row the worker's socket did not answer
    probing: bool = False
    last_request: float = field(default_factory=time.monotonic)
    lock: trio.Lock = field(default_factory=trio.Lock)  # one deploy, delete or reset at a time
    changed: trio.Event = field(default_factory=trio.Event)  # set (and replaced) at every state change
    stopped: dict[int, trio.Event] = field(default_factory=dict)  # workers being stopped, set once gone

    @property
    def worker(self) -> WorkerProcess | None:
        """The worker serving, or None."""
        return self.procs.get(self.life.worker) if self.life.state is State.READY else None

    async def settled(self) -> None:
        """Until the state is neither STARTING nor DRAINING (a start in flight is over)."""
        while self.life.state in (State.STARTING, State.DRAINING):
            await self.changed.wait()


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.prepare()
        self.registry = Registry(settings.registry_target)
        self.slots: dict[str, Slot] = {}
        self.events: dict[str, deque[str]] = {}
        self.subscribers: set[trio.MemorySendChannel[Invalidate]] = set()
        self.nursery: trio.Nursery | None = None
        self.spares = workers.SparePool(settings)
        self.validator = Validator()
        self.metrics = SupervisorMetrics()
        self.retiring: dict[int, WorkerProcess] = {}  # by pid: previous revisions draining after a re-deploy
        self.closing = False
        self.sandbox_warned = False
        if self.registry.runtime(BUILTIN_RUNTIME) is None or self.registry.runtime(BUILTIN_RUNTIME) != builtin_runtime():
            self.registry.add_runtime(builtin_runtime())
        self.outbound = self._outbound_settings()
        self.guard = Guard.from_settings(self.outbound)
        self.fleet = FleetMember(self)  # the servers sharing this registry (supervisor/fleet_member.py)

    def _outbound_settings(self) -> OutboundSettings:
        """The operator's rules (given now: they replace the registry's) and the outbound limits."""
        for kind in ("allow", "deny", "resolve"):
            given = getattr(self.settings, f"outbound_{kind}")
            if given is not None:
                self.registry.replace_outbound_rules(kind, given)
        rules = self.registry.outbound_rules()
        s = self.settings
        return OutboundSettings(mode="cloud", allow=rules["allow"], deny=rules["deny"], resolve=rules["resolve"],
                                connect_timeout=s.outbound_connect_timeout, total_timeout=s.outbound_timeout,
                                max_concurrent=s.outbound_max_concurrent,
                                max_response_bytes=s.outbound_max_response_bytes,
                                broker=str(s.outbound_broker_socket))

    # --- lifecycle -------------------------------------------------------------------------
    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            await nursery.start(self.fleet.run)  # claims the server id first: refused if another holds it
            self.spares.nursery = nursery
            self.spares.warm(self.newest_runtime().command)
            self.validator.warm()
            await self.resume()
            nursery.start_soon(self._watch)
            task_status.started()

    async def resume(self) -> None:
        """Adopt workers that outlived the previous supervisor; start the others."""
        self._reap_orphans()
        self._sweep_stale_files()
        resumed: list[Slot] = []
        for deployment in self.registry.deployments():
            if not self.fleet.runs_here(deployment):  # another server of the fleet runs it
                continue
            uuid = deployment.environment_uuid
            slot = self._slot(uuid)
            slot.host = self.host_of(deployment.subdomain)
            slot.life = lifecycle.initial(deployment.status, deployment.last_error)
            if deployment.status not in ("RUNNING", "STARTING"):
                continue
            adopted = workers.adopt(self.settings, uuid, deployment.revision,
                                    deployment.worker_pid, deployment.worker_started, deployment.worker_socket)
            if adopted is not None and await workers.probe(adopted.socket):
                self._step(uuid, Adopt())
                self._keep(uuid, slot.life.worker, adopted)
                self._event(uuid, f"adopted worker pid {adopted.pid}")
                continue
            self._step(uuid, Resume())
            resumed.append(slot)
        for slot in resumed:  # started in the run nursery; answering before they are up would only make wakes wait
            await slot.settled()

    def _sweep_stale_files(self) -> None:
        """Sockets, heartbeats and logs of workers that died with a previous supervisor are removed;
        those of live workers (adopted next) and of the warm spare are kept."""
        keep = {Path(socket).stem for socket in self.spares.sockets()}
        for deployment in self.registry.deployments():
            if deployment.worker_socket and deployment.worker_pid and deployment.worker_started:
                adopted = workers.adopt(self.settings, deployment.environment_uuid, deployment.revision,
                                        deployment.worker_pid, deployment.worker_started, deployment.worker_socket)
                if adopted is not None:
                    keep.add(adopted.socket.stem)
        for directory in (self.settings.run_dir, self.settings.logs_dir):
            for path in directory.glob("w-*"):
                if path.name.split(".", 1)[0] not in keep:
                    path.unlink(missing_ok=True)

    def _reap_orphans(self) -> None:
        """Workers no deployment records (the supervisor was killed mid-deploy or while a previous
        revision drained) and a previous supervisor's fork servers are stopped (``supervisor/orphans.py``)."""
        recorded = self.registry.deployments()
        owned = Owned(sockets=frozenset({d.worker_socket for d in recorded if d.worker_socket} | self.spares.sockets()),
                      workers=frozenset((d.worker_pid, d.worker_started) for d in recorded
                                        if d.worker_pid and d.worker_started),
                      fork_servers=frozenset(self.spares.fork_server_pids()))
        seen: list[SeenProcess] = []
        for proc in psutil.process_iter(["pid", "ppid", "create_time", "cmdline"]):
            cmdline = proc.info.get("cmdline")
            if cmdline and proc.info.get("create_time") is not None:
                seen.append(SeenProcess(proc.info["pid"], proc.info["ppid"] or 0, proc.info["create_time"],
                                        tuple(cmdline)))
        for pid in orphans(seen, str(self.settings.run_dir), owned):
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass

    async def shutdown(self) -> None:
        """Stop every worker; their deployments stay RUNNING in the registry and resume next start."""
        self.closing = True  # starts still in flight stop the worker they get (see _spawn)
        async with trio.open_nursery() as nursery:
            for uuid in list(self.slots):
                for effect in self._step(uuid, Shutdown(), caller=(Terminate,)):
                    if isinstance(effect, Terminate):
                        nursery.start_soon(self._terminate, uuid, effect.worker,
                                           self.settings.worker_drain_seconds + 3)
        self.spares.close()
        self.validator.close()

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

    def _handover(self, *, disabled_routes: list[str], repairs: list[Repair], admin_token: str, subdomain: str,
                  max_body: int) -> HandoverHeader:
        """The hand-over's options; the environment goes beside them as the registry keeps it
        (``encode_handover_raw``): decoding and re-encoding a large one here would hold the loop."""
        return HandoverHeader(disabled_routes=disabled_routes, repairs=repairs, admin_token=admin_token,
                              max_request_body_size=max_body, cloud=True,
                              public_base_url=self.settings.instance_url(subdomain),
                              websocket_max_message_bytes=self.settings.websocket_max_message_bytes,
                              websocket_messages_per_second=self.settings.websocket_messages_per_second,
                              websocket_drain_seconds=self.settings.websocket_drain_seconds,
                              outbound=self.outbound, report_ready=True)

    def _max_body(self, account_id: int) -> int:
        return self.registry.plan(self.registry.account(account_id).plan).max_body_bytes

    def _link_state(self, handover: HandoverHeader, uuid: str, *, live_update: bool, epoch: int, max_state: int,
                    snapshot: bytes = b"", deployed: DeployedRevision | None = None) -> None:
        """Durable state: where the worker pushes, what it starts from, whether live updates are allowed."""
        handover.live_update = live_update
        handover.state_link = StateLink(socket=str(self.settings.state_socket), deployment=uuid, epoch=epoch,
                                        max_state_bytes=max_state)
        handover.state = snapshot
        handover.deployed = deployed

    def revision_event(self, uuid: str, text: str) -> None:
        self._event(uuid, text)

    # --- deployments API -----------------------------------------------------------------------
    def instance(self, deployment: Deployment) -> dict[str, Any]:
        info = DeployInstance(
            environment_uuid=deployment.environment_uuid, subdomain=deployment.subdomain,
            url=self.fleet.instance_url(deployment), visibility=deployment.visibility,  # type: ignore[arg-type]
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

    async def _admit(self, account: Account, plan: PlanRow, body: bytes) -> None:
        """The deployments quota, before the body is decoded: a full account is refused in
        microseconds, not after seconds of validation (a re-deploy of its own needs no free slot)."""
        owned = self.registry.deployment_uuids(account.id)
        uuid = await trio.to_thread.run_sync(peek_uuid, body) if needs_uuid(plan.deployments_quota, owned) else None
        refusal = quota_refusal(plan.deployments_quota, owned, uuid, plan.name)
        if refusal is not None:
            raise ApiError(403, refusal)

    async def deploy(self, account: Account, body: bytes) -> dict[str, Any]:
        begun = time.monotonic()
        plan = self.registry.plan(account.plan)
        await self._admit(account, plan, body)
        runtime = self.newest_runtime()
        job = ValidationJob(max_schema=runtime.max_schema, runtime=runtime.name,
                            max_environment_bytes=MAX_ENVIRONMENT, outbound=self.outbound)
        checked = await self.validator.validate(body, job)  # a child process: the loop stays free
        if isinstance(checked, Refused):
            raise ApiError(checked.status, checked.message, **({"path": checked.path} if checked.path else {}))
        try:  # a fleet: the deploy runs on the server its region (or its previous deploy) names
            owner = self.fleet.place(checked, self.registry.deployment(checked.uuid))
        except FleetRefusal as refusal:
            raise ApiError(refusal.status, refusal.message, path="$.region") from None
        if owner != self.settings.server_id:
            status, answer = await self.fleet.deploy_elsewhere(owner, account, checked, runtime.name)
            if status != 200:
                raise ApiError(status, str(answer.pop("message", "")), **answer)
            return answer
        return await self.deploy_validated(account, plan, checked, runtime, begun)

    async def deploy_validated(self, account: Account, plan: PlanRow, request: Validated,
                               runtime: Runtime, begun: float | None = None) -> dict[str, Any]:
        """A validated deploy that runs on this server (placed here, or handed here by another server)."""
        begun = time.monotonic() if begun is None else begun  # a handed-over deploy: from its hand-over
        uuid = request.uuid
        slot = self._slot(uuid)
        async with slot.lock:
            if slot.life.state is State.DELETED or self.slots.get(uuid) is not slot:
                # deleted while this deploy waited for the lock: a deploy after a delete starts afresh
                if self.slots.get(uuid) is slot:
                    self.slots.pop(uuid, None)
                return await self.deploy_validated(account, plan, request, runtime, begun)
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
            warning_list = [msgspec.to_builtins(w) for w in [*request.repairs, *request.warnings]]
            admin_token = previous.admin_token if previous else secrets.token_urlsafe(32)
            revision = previous.revision + 1 if previous else 1
            if slot.life.state is State.DELETED:
                raise ApiError(409, f"deployment {uuid} was deleted meanwhile; deploy again")
            spawn = next(e for e in self._step(uuid, Deploy(), caller=(Spawn,)) if isinstance(e, Spawn))
            try:
                handover = self._handover(disabled_routes=request.disabled_routes, repairs=request.repairs,
                                          admin_token=admin_token, subdomain=subdomain, max_body=plan.max_body_bytes)
                epoch = state_store.new_epoch()  # a deploy starts from the deployed state, like Mockoon
                self._link_state(handover, uuid, live_update=request.live_update, epoch=epoch,
                                 max_state=plan.max_state_bytes)
                worker = await workers.spawn(self.settings, deployment=uuid, revision=revision,
                                             command=runtime.command,
                                             handover=encode_handover_raw(handover, request.migrated),
                                             pool=self.spares)
            except WorkerStartError as error:
                self._step(uuid, StartFailed(spawn.worker, str(error)))
                if previous is not None:
                    self.registry.set_status(uuid, previous.status, last_error=f"re-deploy failed: {error}")
                raise ApiError(422, f"the environment could not be started: {error}; "
                                    + ("the previous version keeps serving" if previous else "nothing was deployed"),
                               stderr=error.stderr_tail) from None
            try:
                saved = self.registry.save_deployment(
                    account_id=account.id, environment_uuid=uuid, subdomain=subdomain, name=request.name,
                    visibility=request.visibility, region=request.region or self.settings.region,
                    live_update=request.live_update, runtime=runtime.name, uploaded=request.uploaded,
                    migrated=request.migrated, warnings=warning_list, disabled_routes=request.disabled_routes,
                    quota=plan.deployments_quota, server_id=self.settings.server_id,
                    admin_token=admin_token,
                    worker_pid=worker.pid, worker_started=worker.started, worker_socket=str(worker.socket),
                    then=lambda db, saved_revision: state_store.record_deployed(db, uuid, saved_revision, epoch))
            except (QuotaExceeded, OwnedElsewhere) as error:
                self._step(uuid, StartFailed(spawn.worker, str(error)))
                await workers.stop(worker, 1)
                raise ApiError(403 if isinstance(error, QuotaExceeded) else 409, str(error)) from None
            except BaseException:
                self._step(uuid, StartFailed(spawn.worker, "the deploy was interrupted"))
                await workers.stop(worker, 1)
                raise
            self._keep(uuid, spawn.worker, worker)
            slot.probe_failures = 0
            slot.last_request = time.monotonic()
            if previous is not None and previous.subdomain != subdomain:
                self._invalidate(self.host_of(previous.subdomain))
            slot.host = self.host_of(subdomain)
            self._step(uuid, Started(spawn.worker))  # the switch: the edge is told, the previous worker retires
            self._event(uuid, f"{'re-deployed' if previous else 'deployed'} revision {revision} on runtime "
                              f"{runtime.name} (worker pid {worker.pid})")
        self.metrics.deploy_seconds.observe(time.monotonic() - begun)
        result = self.instance(saved)
        result["warnings"] = warning_list
        result["runtime"] = runtime.name
        result["migratedFrom"] = request.from_version
        return result

    async def _retire(self, worker: WorkerProcess) -> None:
        """The old revision keeps its socket until the edge has switched and drained."""
        self.retiring[worker.pid] = worker
        try:
            try:
                await trio.sleep(self.settings.worker_drain_seconds)
            except BaseException:
                worker.signal(signal.SIGTERM)  # the supervisor is stopping: hypercorn finishes and exits
                raise
            await workers.stop(worker, self.settings.websocket_drain_seconds + 10)  # its WebSockets drain first
        finally:
            self.retiring.pop(worker.pid, None)

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

    async def take_over(self, uuid: str, why: str) -> None:
        """Start a deployment this server has just been given (a fleet failover), as a resume would."""
        deployment = self.registry.deployment(uuid)
        if deployment is None:
            return
        slot = self._slot(uuid)
        slot.host = self.host_of(deployment.subdomain)
        self._event(uuid, why)
        self._step(uuid, Resume())
        await slot.settled()

    async def let_go(self, uuid: str, host: str) -> bool:
        """Stop this server's worker of a deployment that is gone or now runs on another server;
        whether there was one."""
        slot = self.slots.get(uuid)
        if slot is None:
            return False
        async with slot.lock:  # a deploy of the same uuid in flight here finishes first
            deployment = self.registry.deployment(uuid)
            if deployment is not None and self.fleet.runs_here(deployment):
                return False  # deployed here again (perhaps by another account) since the event
            if not slot.procs:  # no worker of ours: nothing to stop, no history to write
                if self.slots.get(uuid) is slot:
                    self.slots.pop(uuid, None)
                return False
            slot.host = host
            for effect in self._step(uuid, Delete(), caller=(Terminate,)):
                if isinstance(effect, Terminate):
                    await self._terminate(uuid, effect.worker, 5)
        if self.slots.get(uuid) is slot:
            self.slots.pop(uuid, None)
        return True

    async def delete(self, account: Account, uuid: str) -> dict[str, Any]:
        deployment = self.owned(account, uuid)
        slot = self._slot(uuid)
        async with slot.lock:
            self.registry.delete_deployment(uuid, account.id)
            slot.host = self.host_of(deployment.subdomain)
            for effect in self._step(uuid, Delete(), caller=(Terminate,)):
                if isinstance(effect, Terminate):
                    await self._terminate(uuid, effect.worker, 5)
        if self.slots.get(uuid) is slot:
            self.slots.pop(uuid, None)
        self.events.pop(uuid, None)  # a re-used uuid (perhaps another account's) starts with no history
        answer = self.instance(deployment)
        answer["status"] = "STOPPED"
        return answer

    async def reset(self, account: Account, uuid: str) -> dict[str, Any]:
        """``mockfleet reset``: back to the deployed state (state, environment variables, live updates).

        A running worker is stopped first, so its final snapshot cannot land after the reset, then
        started again from the deployed revision; a stopped deployment stays stopped."""
        deployment = self.owned(account, uuid)
        if not self.fleet.runs_here(deployment):  # its own server stops and starts the worker
            status, answer = await self.fleet.reset_elsewhere(account, deployment)
            if status != 200:
                raise ApiError(status, str(answer.pop("message", "")), **answer)
            return answer
        slot = self._slot(uuid)
        async with slot.lock:
            await slot.settled()
            was_running = slot.life.state is State.READY
            for effect in self._step(uuid, Stop("stopped to reset the state"), caller=(Terminate,)):
                if isinstance(effect, Terminate):
                    await self._terminate(uuid, effect.worker, 5)
            revision = state_store.reset(self.registry, uuid)
        self._event(uuid, f"revision {revision}: reset to the deployed state")
        if was_running:
            await self.wake(uuid)
        return self.details(account, uuid)

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
        flags = liveness.sandbox_flags(worker.heartbeat) if worker else None
        answer.update({
            "state": self.state_of(deployment),
            "runtime": deployment.runtime,
            "revision": deployment.revision,
            "warnings": deployment.warnings,
            "lastError": deployment.last_error,
            "requestsThisMonth": self.registry.deployment_usage(uuid),
            **state_store.describe(self.registry, uuid),
            "worker": {"pid": worker.pid, "rssBytes": measured,
                       "loopStalledSeconds": round(liveness.stalled_for(liveness.read(worker.heartbeat),
                                                                        time.monotonic()), 3)} if worker else None,
            "sandbox": {"applied": flag_names(flags), "missing": flag_names(ALL_FLAGS & ~flags)}
            if flags is not None else None,
            "events": list(self.events.get(uuid, ())),
            "logTail": workers.tail(worker.log_path, 20) if worker else "",
            "createdAt": deployment.created_at,
            "updatedAt": deployment.updated_at,
        })
        return answer

    async def outbound_counts(self, uuid: str) -> dict[str, int] | None:
        """The worker's outbound counters (proxy and callback requests, refused, failed, timed out)."""
        slot = self.slots.get(uuid)
        deployment = self.registry.deployment(uuid)
        if slot is None or slot.worker is None or deployment is None:
            return None
        return await workers.outbound_counts(slot.worker, deployment.admin_token)

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
            "maxStateBytes": plan.max_state_bytes,
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
        if deployment is None or not self.fleet.runs_here(deployment):
            return Target(host=host, kind="none")
        slot = self.slots.get(deployment.environment_uuid)
        worker = slot.worker if slot else None
        plan = self.registry.plan(self.registry.account(deployment.account_id).plan)
        # RUNNING with a socket, FAILED (refused at the edge), else STOPPED: the edge wakes it, and the
        # lifecycle answers (starting, waiting out a backoff, or refusing)
        status = "RUNNING" if worker is not None else "FAILED" if deployment.status == "FAILED" else "STOPPED"
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
        """The lifecycle answers: the worker serving, a start (awaited), or a refusal with when to retry
        (a backoff is honoured: a request does not restart a crashed worker before its delay is over)."""
        if self.registry.deployment(uuid) is None:
            return Woken(ok=False, reason="no such instance")
        slot = self._slot(uuid)
        begun = time.monotonic()
        waited = False
        while True:
            for answer in self._step(uuid, lifecycle.Wake()):
                if isinstance(answer, Serve):
                    worker = slot.procs.get(answer.worker)
                    if worker is not None and worker.alive():
                        if waited:
                            self.metrics.wake_seconds.observe(time.monotonic() - begun)
                        return Woken(ok=True, socket=str(worker.socket))
                    serving = slot.life
                    self._check_exit(uuid, slot)  # dead before the watch saw it: its exit, then ask again
                    if slot.life == serving:  # not a crash the lifecycle could act on: no second try
                        return Woken(ok=False, reason="the instance's worker is not answering", retry_after=1.0)
                elif isinstance(answer, Refuse):
                    return Woken(ok=False, reason=answer.reason, retry_after=answer.retry_after)
                elif isinstance(answer, Await):
                    waited = True
                    await slot.settled()

    def usage(self, counts: dict[str, int]) -> UsageAck:
        now = time.monotonic()
        for uuid in counts:
            slot = self.slots.get(uuid)
            if slot is not None:
                slot.last_request = now
        used = self.registry.add_usage(counts)
        reset = next_reset().timestamp()
        return UsageAck(used=used, resets_at={account: reset for account in used})

    def upstream_failed(self, report: UpstreamFailed) -> Noted:
        """The edge timed out on (or could not reach) a worker: check it now rather than at the next round."""
        slot = self.slots.get(report.deployment)
        worker = slot.worker if slot else None
        if slot is None or worker is None or worker.stopping or not worker.alive():
            return Noted(action="none")
        if report.kind == "timeout":
            now = time.monotonic()
            stamp = liveness.read(worker.heartbeat)
            if stamp is None and self.nursery is not None:  # parked: it never saw the request; does it answer?
                self.nursery.start_soon(self._check_reachable, report.deployment, worker)
                return Noted(action="probing")
            if liveness.is_hung(stamp, now, liveness.CONFIRM_AFTER):
                self._kill_hung(report.deployment, slot, liveness.stalled_for(stamp, now), "after the edge's timeout")
                return Noted(action="killed")
            return Noted(action="none")
        if self.nursery is not None:
            self.nursery.start_soon(self._check_reachable, report.deployment, worker)
        return Noted(action="probing")

    def _warn_sandbox(self, flags: int | None) -> None:
        """Once per start, in ``mockfleet up``'s output: the restrictions this host could not give workers."""
        if not flags:
            return  # not confined yet (or a runtime that does not report)
        self.sandbox_warned = True
        missing = flag_names(ALL_FLAGS & ~flags)
        if missing:
            log.warning("workers run sandboxed without: %s (each worker's log says why, GET /deployments/{uuid} "
                        "shows its sandbox)", ", ".join(missing))
        else:
            log.info("workers run fully sandboxed: %s", ", ".join(flag_names(flags)))

    def _kill_hung(self, uuid: str, slot: Slot, stalled: float, why: str = "") -> None:
        self._step(uuid, Unhealthy(slot.life.worker, f"worker killed: its event loop has not turned for {stalled:.1f}s"
                                                     f"{' ' + why if why else ''} (a request holds it)"))

    async def _check_reachable(self, uuid: str, worker: WorkerProcess) -> None:
        """Probe the worker's socket; a missing socket, or PROBE_STRIKES silent probes in a row, restart it."""
        slot = self.slots.get(uuid)
        if slot is None or slot.probing:
            return
        slot.probing = True
        try:
            answered = worker.socket.exists() and await workers.probe(worker.socket, PROBE_TIMEOUT)
        finally:
            slot.probing = False
        if slot.worker is not worker or worker.stopping or not worker.alive():
            return
        if answered:
            slot.probe_failures = 0
            return
        slot.probe_failures += 1
        if not worker.socket.exists() or slot.probe_failures >= PROBE_STRIKES:
            self._step(uuid, Unhealthy(slot.life.worker, "worker killed: its socket is gone"
                                       if not worker.socket.exists() else
                                       f"worker killed: its socket did not answer {slot.probe_failures} health probes"))

    def usage_totals(self, ledger: str, totals: dict[str, int]) -> UsageAck:
        """An edge ledger's cumulative totals: counted once however often they are reported."""
        now = time.monotonic()
        for uuid in totals:
            slot = self.slots.get(uuid)
            if slot is not None:
                slot.last_request = now
        used = self.registry.add_usage_totals(ledger, totals)
        reset = next_reset().timestamp()
        return UsageAck(used=used, resets_at={account: reset for account in used})

    def upstream_failure(self, report: UpstreamFailure) -> Noted:
        """The edge saw this deployment's worker fail requests: an event its owner can read, and the
        worker checked at once (a 504 means it may hang; a 502/503 that it may not answer at all)."""
        if self.registry.deployment(report.deployment) is None:
            return Noted(action="none")
        times = f" ({report.count} requests)" if report.count > 1 else ""
        self._event(report.deployment, f"edge: upstream {report.status} {report.reason}{times}")
        kind: Literal["timeout", "unreachable"] = "timeout" if report.status == 504 else "unreachable"
        return self.upstream_failed(UpstreamFailed(deployment=report.deployment, kind=kind))

    # --- the lifecycle's executor ----------------------------------------------------------------
    def render_metrics(self) -> bytes:
        """``GET /metrics`` (supervisor/metrics_server.py): every deployment's state, restarts and RSS."""
        samples = []
        for uuid, slot in self.slots.items():
            if slot.life.state is State.DELETED:
                continue
            alive = sum(1 for worker in slot.procs.values() if worker.alive())
            samples.append(DeploymentSample(uuid=uuid, life=slot.life, processes=alive,
                                            rss=self.metrics.rss.get(uuid) if slot.worker is not None else None))
        retiring = sum(1 for worker in self.retiring.values() if worker.alive())
        return self.metrics.render(samples, extra_processes=retiring)

    def state_of(self, deployment: Deployment) -> str:
        """What ``state`` shows: the lifecycle's, or the registry's for a deployment not watched (yet)."""
        slot = self.slots.get(deployment.environment_uuid)
        return slot.life.state.value if slot is not None else deployment.status

    def _step(self, uuid: str, event: Event, *, caller: tuple[type, ...] = ()) -> list[Effect]:
        """Feed one event to the deployment's lifecycle and carry out its effects; the answers to a wake
        (``Serve``, ``Await``, ``Refuse``) and effects of the types in ``caller`` are returned undone."""
        slot = self._slot(uuid)
        before = slot.life
        slot.life, effects = lifecycle.step(before, event, time.monotonic())
        if slot.life.state is not before.state:
            self.metrics.transition(uuid, before, slot.life)
            slot.changed.set()
            slot.changed = trio.Event()
        kept: list[Effect] = []
        for effect in effects:
            if isinstance(effect, (Serve, Await, Refuse, *caller)):
                kept.append(effect)
            else:
                self._apply(uuid, slot, effect)
        return kept

    def _apply(self, uuid: str, slot: Slot, effect: Effect) -> None:
        if isinstance(effect, Note):
            self._event(uuid, effect.text)
        elif isinstance(effect, lifecycle.Invalidate):
            deployment = self.registry.deployment(uuid)
            host = self.host_of(deployment.subdomain) if deployment is not None else slot.host
            if host:
                self._invalidate(host)
        elif isinstance(effect, Record):
            self._record(uuid, slot, effect)
        elif isinstance(effect, Kill):
            worker = slot.procs.get(effect.worker)
            if worker is not None:
                worker.kill_reason = effect.reason
                worker.signal(signal.SIGKILL)
        elif isinstance(effect, Forget):
            worker = slot.procs.pop(effect.worker, None)
            if worker is not None:
                workers.discard_files(worker)
        else:
            assert self.nursery is not None, "the supervisor is not running"
            if isinstance(effect, Spawn):
                self.nursery.start_soon(self._spawn, uuid, effect.worker)
            elif isinstance(effect, Terminate):
                self.nursery.start_soon(self._terminate, uuid, effect.worker, self.settings.worker_drain_seconds + 8)
            elif isinstance(effect, Retire):
                worker = slot.procs.pop(effect.worker, None)
                if worker is not None:
                    self.nursery.start_soon(self._retire, worker)
            elif isinstance(effect, Timer):
                self.nursery.start_soon(self._timer, uuid, effect.at)

    def _record(self, uuid: str, slot: Slot, effect: Record) -> None:
        worker = slot.procs.get(effect.worker) if effect.worker else None
        if worker is not None:
            self.registry.set_worker(uuid, status=effect.status, pid=worker.pid, started=worker.started,
                                     socket=str(worker.socket), last_error=effect.last_error)
        elif effect.status == "STOPPED":
            self.registry.set_worker(uuid, status="STOPPED", last_error=effect.last_error)
        else:
            self.registry.set_status(uuid, effect.status, last_error=effect.last_error)

    async def _timer(self, uuid: str, at: float) -> None:
        await trio.sleep(max(0.0, at - time.monotonic()))
        if self.slots.get(uuid) is not None and not self.closing:
            self._step(uuid, lifecycle.BackoffElapsed())

    async def _terminate(self, uuid: str, number: int, drain: float) -> None:
        """Stop the worker (SIGTERM, drain, SIGKILL), then tell the lifecycle it is gone."""
        slot = self._slot(uuid)
        worker = slot.procs.get(number)
        if worker is None:
            return
        gone = slot.stopped.get(number)
        if gone is not None:  # stopping already (a delete after an idle stop): wait for that one
            await gone.wait()
            return
        gone = slot.stopped[number] = trio.Event()
        try:
            await workers.stop(worker, drain)
        finally:
            slot.procs.pop(number, None)
            slot.stopped.pop(number, None)
            gone.set()
        self._step(uuid, Drained(number))

    async def _spawn(self, uuid: str, number: int) -> None:
        """A start the lifecycle asked for (wake, restart, resume): the worker, then ``Started`` or ``StartFailed``."""
        slot = self._slot(uuid)
        try:
            worker = await self._start_worker(uuid)
        except WorkerStartError as error:
            self._step(uuid, StartFailed(number, f"{error}\n{error.stderr_tail}"))
            return
        if self.closing or self.slots.get(uuid) is not slot:  # stopping, or the deployment was deleted meanwhile
            await workers.stop(worker, 1.0)
            return
        self._keep(uuid, number, worker)
        slot.probe_failures = 0
        slot.last_request = time.monotonic()
        self._step(uuid, Started(number))

    async def _start_worker(self, uuid: str) -> WorkerProcess:
        """A worker of the deployment's current revision, from its saved state (``WorkerStartError`` if none starts)."""
        deployment = self.registry.deployment(uuid)
        if deployment is None:
            raise WorkerStartError("the deployment was deleted")
        runtime = self.registry.runtime(deployment.runtime) or builtin_runtime()
        restore = state_store.load(self.registry, deployment)  # the live update in force, the saved state
        environment_json = (deployment.environment_migrated if restore.deployed is None
                            else msgspec.json.encode(restore.environment))
        handover = self._handover(disabled_routes=restore.disabled_routes, repairs=[],
                                  admin_token=deployment.admin_token, subdomain=deployment.subdomain,
                                  max_body=self._max_body(deployment.account_id))
        self._link_state(handover, uuid, live_update=deployment.live_update, epoch=restore.epoch,
                         max_state=self.registry.plan(self.registry.account(deployment.account_id).plan)
                         .max_state_bytes, snapshot=restore.snapshot, deployed=restore.deployed)
        return await workers.spawn(self.settings, deployment=uuid, revision=deployment.revision,
                                   command=runtime.command, handover=encode_handover_raw(handover, environment_json),
                                   pool=self.spares)

    def _keep(self, uuid: str, number: int, worker: WorkerProcess) -> None:
        """The slot's process for the lifecycle's worker ``number``, its exit awaited from now on."""
        self._slot(uuid).procs[number] = worker
        assert self.nursery is not None
        self.nursery.start_soon(self._await_exit, uuid, worker)

    async def _await_exit(self, uuid: str, worker: WorkerProcess) -> None:
        """Hear of the worker's exit when it happens (its pidfd turns readable): two thousand idle
        workers polled with a signal 0 every half second were the idle supervisor's largest cost."""
        fd = workers.exit_fd(worker)
        if fd is None:
            return  # the watch loop's polling finds this exit
        worker.watched = True
        try:
            await trio.lowlevel.wait_readable(fd)
        finally:
            os.close(fd)
            worker.watched = False  # from here on polled (an exit of a worker that was not serving)
        slot = self.slots.get(uuid)
        if slot is not None:
            self._check_exit(uuid, slot)

    def _check_exit(self, uuid: str, slot: Slot) -> None:
        """A serving worker that is gone without being asked: the lifecycle hears of its exit."""
        worker = slot.worker
        if worker is None or worker.stopping or not worker.exited():  # exited(): cheap enough for every worker
            return
        code = worker.popen.returncode if worker.popen is not None else "?"
        reason = worker.kill_reason or f"worker exited unexpectedly (status {code})"
        self._step(uuid, Exited(slot.life.worker, f"{reason}\n{workers.tail(worker.log_path)}"))

    async def _watch(self) -> None:
        """Every 250 ms: exits of workers without a pidfd (``_await_exit`` hears the others); every
        second: idle stops, RSS limit, heartbeat; every 3 s: a health probe of each worker's socket
        (each less often past the budget's counts: watch_budget). Only the slots due on a tick are
        visited, so 2,000 idle workers cost the loop little."""
        tick = 0
        while True:
            await trio.sleep(0.25)
            tick += 1
            now = time.monotonic()
            slots = list(self.slots.items())
            count = len(slots)
            for index in watch_budget.due_indices(tick, count, 1, watch_budget.EXIT_CHECKS_PER_SECOND):
                uuid, slot = slots[index]
                worker = slot.worker
                if worker is not None and not worker.watched:  # no pidfd awaited: polled
                    self._check_exit(uuid, slot)
            # idle stops (and a backoff's end, which its Timer effect also brings) at the limits' cadence
            for index in watch_budget.due_indices(tick, count, 4, watch_budget.LIMIT_CHECKS_PER_SECOND):
                uuid, slot = slots[index]
                due = lifecycle.due(slot.life, now, slot.last_request, self.settings.idle_stop_seconds)
                if due is not None:
                    self._step(uuid, due)
                worker = slot.worker
                if worker is not None and not worker.stopping:
                    self._check_limits(uuid, slot, worker, now)
            for index in watch_budget.due_indices(tick, count, PROBE_EVERY_TICKS, watch_budget.PROBES_PER_SECOND):
                uuid, slot = slots[index]
                worker = slot.worker
                if worker is not None and not worker.stopping:
                    assert self.nursery is not None
                    self.nursery.start_soon(self._check_reachable, uuid, worker)

    def _check_limits(self, uuid: str, slot: Slot, worker: WorkerProcess, now: float) -> None:
        rss = workers.measure(worker)
        if rss is None:
            worker.lost = worker.popen is None  # gone, or its pid is another process's: the next tick records it
            return
        self.metrics.rss[uuid] = rss
        settings = self.settings
        if rss > settings.worker_rss_limit:
            self._step(uuid, Unhealthy(slot.life.worker, f"worker killed: memory {rss // 2**20} MiB over the limit "
                                                         f"of {settings.worker_rss_limit // 2**20} MiB"))
            return
        if workers.rotate_log(worker.log_path, settings.worker_log_bytes):
            log.info("%s: worker log rotated at %d KiB", uuid, settings.worker_log_bytes // 1024)
        if not self.sandbox_warned:
            self._warn_sandbox(liveness.sandbox_flags(worker.heartbeat))
        stamp = liveness.read(worker.heartbeat)
        if liveness.is_hung(stamp, now, settings.worker_stall_seconds):
            self._kill_hung(uuid, slot, liveness.stalled_for(stamp, now))
