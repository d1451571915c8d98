"""Durable state, the worker's half: push snapshots to the supervisor and return to the deployed state.

Only a worker started by the platform (a hand-over with a ``state_link``) has one. Idle, it costs
nothing: requests and admin writes ``touch`` the state, which wakes the pusher; it then pushes at
most once per ``interval`` (under a second, so a kill -9 loses at most the last second) and only
when the encoded state differs from the last one stored. A final push follows the drain on SIGTERM.

The worker connects to the supervisor's state socket for each push and writes no file, so a
supervisor restart costs nothing but a retry: workers outlive the supervisor.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import msgspec

from schemas import Environment
from schemas.worker_state import (
    LiveUpdate,
    StateAck,
    StateFrameError,
    StateLink,
    StatePush,
    decode_state_payload,
    encode_state_frame,
    state_frame_length,
)

from .responder import MockServer
from .snapshot import SnapshotError, encode_state, value_size
from .state_budget import StateBudget

log = logging.getLogger("mockfleet.worker.state")

PUSH_INTERVAL = 0.9  # seconds between pushes at most; under the one-second bound with the push itself
PUSH_TIMEOUT = 5.0


class PushFailed(Exception):
    """The supervisor could not be reached or answered nonsense; the state stays pending."""


async def push(socket_path: str, message: StatePush, timeout: float = PUSH_TIMEOUT) -> StateAck:
    """One connection per push: robust to supervisor restarts, no connection kept per idle worker."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_unix_connection(socket_path)
            try:
                writer.write(encode_state_frame(message))
                await writer.drain()
                length = state_frame_length(await reader.readexactly(4))
                answer = decode_state_payload(await reader.readexactly(length))
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError, StateFrameError) as error:
        raise PushFailed(f"{type(error).__name__}: {error}") from error
    if not isinstance(answer, StateAck):
        raise PushFailed(f"unexpected answer {type(answer).__name__}")
    return answer


@dataclass
class Deployed:
    """What a purge returns to: the deployed environment and the environment variables before any write."""

    environment: Environment
    disabled_routes: frozenset[str]
    env_vars: dict[str, str]


class StateSync:
    def __init__(self, link: StateLink, token: str, holder: dict[str, MockServer], deployed: Deployed,
                 interval: float = PUSH_INTERVAL) -> None:
        self.link = link
        self.token = token
        self.holder = holder
        self.deployed = deployed
        self.interval = interval
        self.epoch = link.epoch
        self.purges = 0  # returns to the deployed state so far
        self.purges_stored = 0  # … of which the supervisor has recorded
        self.live: LiveUpdate | None = None  # accepted live update not yet stored
        self.stale = False  # the deployment moved on without this worker: nothing more to push
        self.last_stored: bytes | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._unsavable = ""
        state = holder["server"].state
        state.on_change = self._wake.set
        if link.max_state_bytes:
            state.budget = StateBudget(link.max_state_bytes, value_size,
                                       lambda: len(encode_state(self.holder["server"].state)))

    # --- what changes the revision ------------------------------------------------------------
    def live_update(self, environment: Environment, disabled_routes: list[str]) -> None:
        self.live = LiveUpdate(environment=msgspec.json.encode(environment), disabled_routes=disabled_routes)
        self.holder["server"].state.touch()

    def reset_to_deployed(self) -> None:
        """The platform's purge: state, admin-written environment variables and live updates all go."""
        server = self.holder["server"]
        options = server.options
        if server.env is not self.deployed.environment:
            options.disabled_routes = self.deployed.disabled_routes
            server = MockServer(self.deployed.environment, options, state=server.state)
            self.holder["server"] = server
        options.env_vars.clear()
        options.env_vars.update(self.deployed.env_vars)
        state = server.state
        state.env_var_writes.clear()
        state.purge()
        server.regenerate_buckets()
        state.logs.clear()
        self.purges += 1
        self.live = None
        state.touch()

    # --- pushing -----------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = -self.interval
        while not self.stale:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(max(0.0, last + self.interval - loop.time()))
            last = loop.time()
            await self.flush()

    async def flush(self, timeout: float = PUSH_TIMEOUT) -> bool:
        """Push now if anything changed; True when everything is stored (or nothing was pending)."""
        async with self._lock:
            if self.stale:
                return False
            state = self.holder["server"].state
            try:
                encoded = encode_state(state)
            except SnapshotError as error:
                if str(error) != self._unsavable:
                    self._unsavable = str(error)
                    log.warning("%s", error)
                return False
            if state.budget is not None:
                state.budget.settle(len(encoded))
            purges = self.purges
            if encoded == self.last_stored and purges == self.purges_stored and self.live is None:
                return True
            message = StatePush(deployment=self.link.deployment, token=self.token, epoch=self.epoch, state=encoded,
                                purged=purges != self.purges_stored, live_update=self.live)
            try:
                ack = await push(self.link.socket, message, timeout)
            except PushFailed as error:
                log.info("state not saved yet (retrying): %s", error)
                self._wake.set()  # try again after the interval
                return False
            if ack.stale:
                self.stale = True
                log.warning("state no longer saved: %s", ack.message)
                return False
            if not ack.stored:
                log.info("state not saved (retrying): %s", ack.message)
                self._wake.set()
                return False
            self.epoch = ack.epoch or self.epoch
            self.last_stored = encoded
            self.purges_stored = purges
            if self.live is message.live_update:
                self.live = None
            return True
