"""This server's part in a fleet: heartbeat, hearing the fleet's changes, running the deploys other
servers place here, failing over a silent server's deployments, and handing deploys to their server.

One task per supervisor. It wakes on a PostgreSQL notification (a listener thread with its own
connection) or every half second, whichever comes first, so a change made anywhere reaches this
server within a second even when notifications are lost; on SQLite it simply polls.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import trio

from schemas.deploy_validation import Validated
from schemas.fleet import (
    FleetEvent,
    RemoteDeploy,
    RemoteDeployAnswer,
    RemoteDetails,
    RemoteJob,
    RemoteReset,
)

from . import fleet, fleet_events
from .fleet_reactions import react
from .placement import Refusal, ServerInfo, choose_server, silent_servers
from .registry import Account, Deployment

if TYPE_CHECKING:
    from .service import Supervisor

log = logging.getLogger("mockfleet.fleet")

WAKE_EVERY = 0.5
REMOTE_DEPLOY_TIMEOUT = 60.0  # the owning server validates nothing again, but starts a worker (20 s at most)
REMOTE_DETAILS_TIMEOUT = 5.0  # then the registry's view is answered, without the worker's
FAILOVER_CHECK_EVERY = 1.0


class FleetRefusal(Exception):
    """A deploy no server can take, with the status the API answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FleetMember:
    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.settings = supervisor.settings
        self.registry = supervisor.registry
        self.me = self.settings.server_id
        self.holder = fleet.holder_token(self.settings.data_dir)
        self.fleet_mode = self.registry.dialect == "postgresql"
        self.known: dict[str, ServerInfo] = {}
        self.last_seq = 0
        self._wake_send, self._wake_receive = trio.open_memory_channel[None](1)

    # --- running ---------------------------------------------------------------------------------
    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        fleet.claim(self.registry, self.settings, self.holder)  # ServerTaken: this supervisor must not run
        self.last_seq = fleet_events.latest(self.registry.db)
        self._refresh()
        try:
            async with trio.open_nursery() as nursery:
                if self.fleet_mode:
                    nursery.start_soon(self._listen)
                task_status.started()
                await self._run_placed_deploys()  # handed here while this server was away
                await self._loop()
        finally:
            with trio.CancelScope(shield=True):
                try:
                    fleet.sign_off(self.registry, self.me, self.holder)
                except Exception as error:  # noqa: BLE001  (the registry may be down at exit; nothing else to do)
                    log.warning("could not sign off from the fleet: %s", error)

    async def _loop(self) -> None:
        last_beat = last_failover = last_prune = 0.0
        while True:
            with trio.move_on_after(WAKE_EVERY):
                await self._wake_receive.receive()
            now = time.time()
            try:
                if now - last_beat >= fleet.HEARTBEAT_EVERY:
                    last_beat = now
                    self._beat(now)
                await self._hear()  # deploys handed here arrive as events too
                if now - last_failover >= FAILOVER_CHECK_EVERY:
                    last_failover = now
                    self._fail_over_silent(now)
                if now - last_prune >= 600:
                    last_prune = now
                    with self.registry.transaction() as db:
                        fleet_events.prune(db, now)
                    fleet.prune_deploys(self.registry, now)
            except ConnectionError as error:  # the registry is unreachable: keep serving, retry next round
                log.warning("fleet round failed: %s", error)

    def _beat(self, now: float) -> None:
        """Say this server is live (taking its id back if another process claimed it), then read the fleet."""
        if not fleet.heartbeat(self.registry, self.me, self.holder, now):
            self._reclaim(now)
        self._refresh()

    def _reclaim(self, now: float) -> None:
        """Our heartbeat had lapsed and another process claimed the id: take it back if that one is silent."""
        try:
            fleet.claim(self.registry, self.settings, self.holder, now)
            log.warning("server id %s: another process had claimed it while we were silent; claimed it back", self.me)
        except fleet.ServerTaken as error:
            log.error("%s (this supervisor was silent and another took its id over)", error)

    async def _listen(self) -> None:
        """LISTEN on a connection of its own, in a thread; each notification wakes the loop."""
        import psycopg

        uri = self.registry.target.location
        stop = threading.Event()

        def wait() -> bool:
            while not stop.is_set():
                try:
                    with psycopg.connect(uri, autocommit=True, connect_timeout=5) as conn:
                        conn.execute(f"LISTEN {fleet_events.CHANNEL}")
                        while not stop.is_set():
                            for _ in conn.notifies(timeout=0.25, stop_after=1):
                                try:
                                    trio.from_thread.run_sync(self._poke, trio_token=token)
                                except trio.RunFinishedError:
                                    return True
                except psycopg.OperationalError as error:
                    log.warning("fleet notifications lost (polling meanwhile): %s", error)
                    stop.wait(1.0)
            return True

        token = trio.lowlevel.current_trio_token()
        try:
            await trio.to_thread.run_sync(wait, abandon_on_cancel=True)
        finally:
            stop.set()

    def _poke(self) -> None:
        try:
            self._wake_send.send_nowait(None)
        except trio.WouldBlock:
            pass  # a wake is pending already

    def _refresh(self) -> None:
        self.known = {s.server_id: s for s in fleet.servers(self.registry)}

    # --- what the fleet says -----------------------------------------------------------------------
    async def _hear(self) -> None:
        while True:
            events = fleet_events.since(self.registry.db, self.last_seq)
            for event in events:
                self.last_seq = event.seq
                await self._apply(event)
            if len(events) < 500:
                return

    async def _apply(self, event: FleetEvent) -> None:
        supervisor = self.supervisor
        reaction = react(event, self.me, event.environment_uuid in supervisor.slots)
        if reaction == "invalidate-all":
            supervisor._invalidate()
        elif reaction == "invalidate":
            supervisor._invalidate(supervisor.host_of(event.subdomain))
        elif reaction == "drop":
            why = "deleted" if event.kind == "deleted" else f"moved to server {event.server_id}"
            await self._drop(event.environment_uuid, event.subdomain, why)
        elif reaction == "start":
            assert supervisor.nursery is not None
            supervisor.nursery.start_soon(supervisor.take_over, event.environment_uuid, "failed over to this server")
        elif reaction == "take-jobs":
            await self._run_placed_deploys()

    async def _drop(self, uuid: str, subdomain: str, why: str) -> None:
        """Stop our worker of a deployment that is gone or runs elsewhere now."""
        deployment = self.registry.deployment(uuid)
        if deployment is not None and deployment.server_id == self.me:
            return  # deployed here again since
        host = self.supervisor.host_of(subdomain)
        self.supervisor._invalidate(host)
        if await self.supervisor.let_go(uuid, host):
            log.info("%s: %s, its worker stopped", uuid, why)

    async def _run_placed_deploys(self) -> None:
        for request_id, job in fleet.take_deploys(self.registry, self.me):
            assert self.supervisor.nursery is not None
            self.supervisor.nursery.start_soon(self._run_placed, request_id, job)

    async def _run_placed(self, request_id: int, job: RemoteJob) -> None:
        from .service import ApiError

        supervisor = self.supervisor
        try:
            account = supervisor.registry.account(job.account_id)
            if isinstance(job, RemoteReset):
                body = await supervisor.reset(account, job.environment_uuid)
            elif isinstance(job, RemoteDetails):
                body = supervisor.details(account, job.environment_uuid)
                body["outbound"] = await supervisor.outbound_counts(job.environment_uuid)
            else:
                plan = supervisor.registry.plan(account.plan)
                runtime = supervisor.registry.runtime(job.runtime) or supervisor.newest_runtime()
                body = await supervisor.deploy_validated(account, plan, job.request, runtime)
            answer = RemoteDeployAnswer(status=200, body=body)
        except ApiError as error:
            answer = RemoteDeployAnswer(status=error.status, body={"message": error.message, **error.extra})
        except Exception as error:  # noqa: BLE001  (the caller waits on an answer: it must get one)
            log.exception("job %s handed here failed", job)
            answer = RemoteDeployAnswer(status=500, body={"message": f"server {self.me} failed the deploy: {error}"})
        fleet.finish_deploy(self.registry, request_id, answer)

    def _fail_over_silent(self, now: float) -> None:
        for server in silent_servers(self.known.values(), me=self.me, region=self.settings.region, now=now,
                                     failover_after=self.settings.failover_after):
            moved = fleet.fail_over(self.registry, server.server_id, self.settings.failover_after, now)
            if moved:
                log.warning("server %s silent for %.1f s: %d deployment(s) failed over (%s)", server.server_id,
                            now - server.heartbeat_at, len(moved), ", ".join(f"{u} -> {t}" for u, t in moved))
                self._refresh()

    # --- deploys answered here -------------------------------------------------------------------------
    def place(self, request: Validated, previous: Deployment | None) -> str:
        """The server that runs this deploy; sets the request's region to that server's."""
        if not self.fleet_mode:
            return self.me  # one server: every region is this one's, as before fleets
        now = time.time()
        self._refresh()
        mine = self.known.get(self.me)
        if mine is None or not mine.live(now):
            # this server answers, so it is live: a heartbeat a registry outage held back (the loop beats
            # again only on its next round) is no reason to refuse the deploy
            self._beat(now)
        current = previous.server_id if previous is not None else ""
        pick = choose_server(request.region, self.known.values(), now,
                             default_region=self.settings.default_region or self.settings.region, current=current)
        if isinstance(pick, Refusal):
            raise FleetRefusal(pick.status, pick.message)
        request.region = pick.region if previous is None or previous.server_id != pick.server_id else previous.region
        return pick.server_id

    async def deploy_elsewhere(self, server_id: str, account: Account, request: Validated,
                               runtime: str) -> tuple[int, dict[str, Any]]:
        """Hand the deploy to its server through the registry and wait for its answer."""
        return await self._elsewhere(server_id, RemoteDeploy(account_id=account.id, request=request, runtime=runtime),
                                     request.uuid)

    async def reset_elsewhere(self, account: Account, deployment: Deployment) -> tuple[int, dict[str, Any]]:
        return await self._elsewhere(deployment.server_id, RemoteReset(account_id=account.id,
                                                                       environment_uuid=deployment.environment_uuid),
                                     deployment.environment_uuid)

    async def details_elsewhere(self, account: Account, uuid: str) -> dict[str, Any] | None:
        """A deployment's details from the live server that runs it; None when this server runs it, it
        is not the account's, or its server does not answer (the caller answers the registry's view)."""
        deployment = self.registry.deployment(uuid)
        if deployment is None or deployment.account_id != account.id or self.runs_here(deployment):
            return None
        owner = self.known.get(deployment.server_id)
        if owner is None or not owner.live(time.time()):
            return None
        status, body = await self._elsewhere(deployment.server_id,
                                             RemoteDetails(account_id=account.id, environment_uuid=uuid), uuid,
                                             REMOTE_DETAILS_TIMEOUT)
        return body if status == 200 else None

    async def _elsewhere(self, server_id: str, job: RemoteJob, uuid: str,
                         timeout: float = REMOTE_DEPLOY_TIMEOUT) -> tuple[int, dict[str, Any]]:
        request_id = fleet.submit_deploy(self.registry, server_id, job)
        deadline = time.monotonic() + timeout
        delay = 0.02
        while time.monotonic() < deadline:
            answer = fleet.deploy_answer(self.registry, request_id)
            if answer is not None:
                return answer.status, answer.body
            await trio.sleep(delay)
            delay = min(delay * 1.5, 0.05)  # a cheap read; the owner answers within a second or so
        if fleet.abandon_deploy(self.registry, request_id):
            return 503, {"message": f"server {server_id!r} did not take the call within "
                                    f"{timeout:.0f} s; nothing was changed"}
        return 504, {"message": f"server {server_id!r} is still working on it; "
                                f"GET /deployments/{uuid} shows when it is done"}

    def instance_url(self, deployment: Deployment) -> str:
        """The URL carries the id of the server that runs the deployment, on that server's port."""
        owner = self.known.get(deployment.server_id)
        if not deployment.server_id or deployment.server_id == self.me or owner is None:
            return self.settings.instance_url(deployment.subdomain)
        port = "" if owner.https_port == 443 else f":{owner.https_port}"
        return f"https://{deployment.subdomain}.{owner.server_id}.{owner.domain or self.settings.domain}{port}"

    def runs_here(self, deployment: Deployment) -> bool:
        return not self.fleet_mode or deployment.server_id in ("", self.me)
