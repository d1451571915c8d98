"""A deployment's lifecycle as one pure transition: ``step(life, event, now) -> (life, effects)``.

Before, the lifecycle lived in registry strings, slot fields and methods that mixed SQLite,
signals and psutil, so a rule such as "no start during crash backoff" had no single place
(a request during backoff restarted the worker at once). Here every decision is a value: the
supervisor's executor (``service.py``) feeds events, stores the new ``Life`` and carries out
the effects (spawn, stop, kill, registry write, edge invalidation, event line, wake answer).

Workers are named by a number the machine hands out (``Spawn.worker``); an event about a worker
that is no longer the current one (a start that lost to a re-deploy, the exit of a retired
revision) is stale and changes nothing but its own clean-up.

    STOPPED  --Wake/Resume-->  STARTING --Started--> READY --IdleTimeout/Stop/Shutdown--> DRAINING
    DRAINING --Drained--> STOPPED (or STARTING when a Wake came meanwhile)
    STARTING/READY --StartFailed/Exited--> BACKOFF --BackoffElapsed--> STARTING
                                       or --> FAILED (CRASH_LIMIT exits within CRASH_WINDOW)
    any --Deploy, then Started of its worker--> READY (the previous worker retires)
    any --Delete--> DELETED
    Wake answers: READY Serve; STARTING/DRAINING Await; BACKOFF/FAILED/DELETED Refuse; STOPPED starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from schemas.lifecycle import REGISTRY_STATUS, DeploymentState

State = DeploymentState

CRASH_WINDOW = 60.0  # CRASH_LIMIT exits within this many seconds is a crash loop
CRASH_LIMIT = 5
BACKOFF_FIRST = 0.25  # then doubled per exit in the window
BACKOFF_MAX = 30.0


@dataclass(frozen=True)
class Life:
    """One deployment's lifecycle; ``worker`` is the worker serving (READY), starting (STARTING) or
    draining (DRAINING), 0 for none; ``deploying`` a re-deploy's worker not switched to yet."""

    state: State = State.STOPPED
    worker: int = 0
    deploying: int = 0
    exits: tuple[float, ...] = ()  # unexpected exits, newest last, at most CRASH_LIMIT
    retry_at: float = 0.0  # BACKOFF: no start before this (monotonic seconds)
    wake_pending: bool = False  # DRAINING: a request came; start again once the worker is gone
    why: str = ""  # what the start in flight is for, for its event line
    error: str = ""  # the last failure, for refusals
    next_worker: int = 1
    restarts: int = 0  # starts after an unexpected exit, for the metrics


# --- events --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Deploy:
    """A (re-)deploy: a new worker starts while the current one, if any, keeps serving."""


@dataclass(frozen=True)
class Wake:
    """A request for the deployment reached the supervisor (the edge has no live socket for it)."""


@dataclass(frozen=True)
class Resume:
    """Supervisor start: the registry says RUNNING but no worker of a previous supervisor is alive."""


@dataclass(frozen=True)
class Adopt:
    """Supervisor start: a worker of a previous supervisor is alive and answers."""


@dataclass(frozen=True)
class Started:
    worker: int


@dataclass(frozen=True)
class StartFailed:
    worker: int
    detail: str


@dataclass(frozen=True)
class Exited:
    """The worker's process is gone without being asked to stop (crash, or killed by us)."""

    worker: int
    detail: str


@dataclass(frozen=True)
class Drained:
    """A worker asked to stop (idle stop, reset, shutdown) has exited."""

    worker: int


@dataclass(frozen=True)
class Unhealthy:
    """The worker hangs, exceeds its memory or does not answer: it is killed, its exit follows."""

    worker: int
    reason: str


@dataclass(frozen=True)
class IdleTimeout:
    pass


@dataclass(frozen=True)
class BackoffElapsed:
    pass


@dataclass(frozen=True)
class Stop:
    """Stop serving until the next request (``mockfleet reset`` uses it before resetting the state)."""

    why: str


@dataclass(frozen=True)
class Shutdown:
    """The supervisor stops: workers stop, the registry keeps RUNNING so the next start resumes them."""


@dataclass(frozen=True)
class Delete:
    pass


Event = (Deploy | Wake | Resume | Adopt | Started | StartFailed | Exited | Drained | Unhealthy | IdleTimeout
         | BackoffElapsed | Stop | Shutdown | Delete)


# --- effects -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spawn:
    worker: int
    why: str
    deploy: bool = False  # a deploy's worker: started from the deployed state, run by the deploy itself


@dataclass(frozen=True)
class Retire:
    """The previous revision's worker: kept until the edge has switched and drained, then stopped."""

    worker: int


@dataclass(frozen=True)
class Terminate:
    """Stop now: SIGTERM, in-flight requests finish, SIGKILL after the drain; ``Drained`` follows."""

    worker: int


@dataclass(frozen=True)
class Kill:
    worker: int
    reason: str


@dataclass(frozen=True)
class Forget:
    """An exited worker: its socket, heartbeat and log go."""

    worker: int


@dataclass(frozen=True)
class Record:
    """Write the registry: ``status`` (its strings), the last error when given, and the worker's
    pid and socket when ``worker`` is set (cleared for STOPPED)."""

    status: str
    last_error: str | None = None
    worker: int = 0


@dataclass(frozen=True)
class Invalidate:
    """The edge drops its cached target for the deployment's host."""


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class Timer:
    """Send ``BackoffElapsed`` at ``at`` (monotonic seconds)."""

    at: float


@dataclass(frozen=True)
class Serve:
    """Answer a wake: this worker serves."""

    worker: int


@dataclass(frozen=True)
class Await:
    """Answer a wake once the start in flight settles (the state leaves STARTING or DRAINING)."""


@dataclass(frozen=True)
class Refuse:
    reason: str
    retry_after: float  # seconds, for the edge's Retry-After


Effect = (Spawn | Retire | Terminate | Kill | Forget | Record | Invalidate | Note | Timer | Serve | Await
          | Refuse)


def backoff_delay(exits: int) -> float:
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, exits - 1))


def _start(life: Life, why: str, *, restart: bool = False) -> tuple[Life, list[Effect]]:
    worker = life.next_worker
    life = replace(life, state=State.STARTING, worker=worker, next_worker=worker + 1, why=why, wake_pending=False,
                   restarts=life.restarts + restart)
    return life, [Spawn(worker, why)]


def _failure(life: Life, detail: str, now: float, first: list[Effect]) -> tuple[Life, list[Effect]]:
    """An unexpected exit or failed start: backoff, or FAILED after CRASH_LIMIT within CRASH_WINDOW."""
    exits = (*life.exits, now)[-CRASH_LIMIT:]
    detail = detail.strip()[-2000:]
    effects: list[Effect] = [*first, Invalidate()]
    if len(exits) == CRASH_LIMIT and now - exits[0] < CRASH_WINDOW:
        life = replace(life, state=State.FAILED, worker=0, exits=exits, retry_at=0.0, wake_pending=False,
                       error=f"crash loop: {detail}")
        return life, [*effects, Record("FAILED", last_error=life.error),
                      Note("crash loop detected: not restarting until re-deployed")]
    retry_at = now + backoff_delay(len(exits))
    life = replace(life, state=State.BACKOFF, worker=0, exits=exits, retry_at=retry_at, wake_pending=False,
                   error=detail)
    return life, [*effects, Record(REGISTRY_STATUS[State.BACKOFF], last_error=detail), Timer(retry_at)]


def _switch(life: Life, worker: int) -> tuple[Life, list[Effect]]:
    """A deploy's worker is ready: it serves from now on; the previous one retires."""
    effects: list[Effect] = [Invalidate()]
    if life.worker and life.state is State.READY:
        effects.append(Retire(life.worker))
    elif life.worker and life.state is State.STARTING:
        effects.append(Terminate(life.worker))  # a wake's start lost to the deploy: it is stopped once up
    # DRAINING: the old worker is stopping already; its Drained is stale then
    life = replace(life, state=State.READY, worker=worker, deploying=0, exits=(), retry_at=0.0, wake_pending=False,
                   error="", why="")
    return life, effects


def step(life: Life, event: Event, now: float) -> tuple[Life, list[Effect]]:
    """The next lifecycle and what to do; no I/O, no clock but ``now``."""
    state = life.state
    if state is State.DELETED:
        if isinstance(event, Wake):
            return life, [Refuse("no such instance", 0.0)]
        return life, [Terminate(event.worker)] if isinstance(event, Started) else []  # a start that lost to delete

    # events about any state: deploys, deletion, stale workers
    if isinstance(event, Deploy):
        worker = life.next_worker
        return replace(life, deploying=worker, next_worker=worker + 1), [Spawn(worker, "deploy", deploy=True)]
    if isinstance(event, Started) and event.worker == life.deploying:
        return _switch(life, event.worker)
    if isinstance(event, StartFailed) and event.worker == life.deploying:
        return replace(life, deploying=0), [Note(f"deploy failed: {event.detail.strip()[-2000:]}")]
    if isinstance(event, Delete):
        effects: list[Effect] = [Invalidate(), Note("deleted")]
        if life.worker and state in (State.READY, State.STARTING, State.DRAINING):
            effects.insert(0, Terminate(life.worker))
        return replace(life, state=State.DELETED, worker=0, deploying=0, wake_pending=False), effects
    if isinstance(event, (Started, StartFailed, Exited, Drained, Unhealthy)) and event.worker != life.worker:
        if isinstance(event, Started):
            return life, [Terminate(event.worker)]  # nobody wants it any more
        if isinstance(event, Exited):
            return life, [Forget(event.worker)]
        return life, []

    if state is State.STOPPED:
        if isinstance(event, Wake):
            life, effects = _start(life, "woken by a request")
            return life, [*effects, Await()]
        if isinstance(event, Resume):
            return _start(life, "supervisor restart")
        if isinstance(event, Adopt):
            worker = life.next_worker
            return (replace(life, state=State.READY, worker=worker, next_worker=worker + 1),
                    [Note("adopted the worker of a previous supervisor")])
        return life, []

    if state is State.STARTING:
        if isinstance(event, Started):
            return (replace(life, state=State.READY, why="", error=""),
                    [Record("RUNNING", worker=life.worker), Invalidate(), Note(f"worker started ({life.why})")])
        if isinstance(event, (StartFailed, Exited)):
            return _failure(life, event.detail, now, [Note(f"start failed ({life.why}): {event.detail.strip()}")])
        if isinstance(event, Wake):
            return life, [Await()]
        if isinstance(event, Unhealthy):
            return life, [Kill(life.worker, event.reason)]
        return life, []  # Shutdown: the start is cancelled with the supervisor; Stop waits for READY

    if state is State.READY:
        if isinstance(event, Wake):
            return life, [Serve(life.worker)]
        if isinstance(event, Exited):
            return _failure(life, event.detail, now, [Note(event.detail.strip().splitlines()[0] if event.detail.strip()
                                                           else "worker exited"), Forget(life.worker)])
        if isinstance(event, Unhealthy):
            return life, [Kill(life.worker, event.reason)]
        if isinstance(event, (IdleTimeout, Stop)):
            why = "stopped after idle period; the next request wakes it" if isinstance(event, IdleTimeout) else event.why
            return (replace(life, state=State.DRAINING),
                    [Record("STOPPED"), Invalidate(), Note(why), Terminate(life.worker)])
        if isinstance(event, Shutdown):
            return replace(life, state=State.DRAINING), [Terminate(life.worker)]
        return life, []

    if state is State.DRAINING:
        if isinstance(event, (Drained, Exited)):
            forget: list[Effect] = [Forget(life.worker)]
            if life.wake_pending:
                life, effects = _start(replace(life, worker=0), "woken by a request")
                return life, [*forget, *effects]
            return replace(life, state=State.STOPPED, worker=0), forget
        if isinstance(event, Wake):
            return replace(life, wake_pending=True), [Await()]
        if isinstance(event, Unhealthy):
            return life, [Kill(life.worker, event.reason)]
        return life, []

    if state is State.BACKOFF:
        if isinstance(event, BackoffElapsed) and now >= life.retry_at:
            return _start(life, "restart after exit", restart=True)
        if isinstance(event, Wake):
            return life, [Refuse(f"restarting after a crash: {_first_line(life.error)}", max(0.0, life.retry_at - now))]
        if isinstance(event, Resume):
            return _start(life, "supervisor restart", restart=True)
        if isinstance(event, Stop):
            return replace(life, state=State.STOPPED, retry_at=0.0), [Record("STOPPED"), Note(event.why)]
        return life, []

    # FAILED: only a deploy (above) or a deletion gets it out
    if isinstance(event, Wake):
        return life, [Refuse(f"instance is failing: {_first_line(life.error)}", 30.0)]
    return life, []


def due(life: Life, now: float, last_request: float, idle_seconds: float) -> Event | None:
    """The timed event owed now, if any: the end of a backoff, or an idle period over."""
    if life.state is State.BACKOFF and now >= life.retry_at:
        return BackoffElapsed()
    if life.state is State.READY and idle_seconds and now - last_request > idle_seconds:
        return IdleTimeout()
    return None


def initial(status: str, last_error: str = "") -> Life:
    """What a deployment starts as when the supervisor starts: FAILED stays FAILED, others STOPPED
    (then ``Adopt`` or ``Resume`` for those the registry says RUNNING)."""
    if status == "FAILED":
        return Life(state=State.FAILED, error=last_error)
    return Life()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no detail"
