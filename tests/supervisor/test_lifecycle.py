"""The lifecycle's transition table, without processes: every state against the events it answers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemas.lifecycle import REGISTRY_STATUS
from supervisor.lifecycle import (
    BACKOFF_MAX,
    CRASH_LIMIT,
    CRASH_WINDOW,
    Adopt,
    Await,
    BackoffElapsed,
    Delete,
    Deploy,
    Drained,
    Exited,
    Forget,
    IdleTimeout,
    Invalidate,
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
    Wake,
    backoff_delay,
    due,
    initial,
    step,
)


def ready(worker: int = 1) -> Life:
    return Life(state=State.READY, worker=worker, next_worker=worker + 1)


def kinds(effects: list) -> list[type]:
    return [type(effect) for effect in effects]


# --- STOPPED -----------------------------------------------------------------------------------------
def test_a_wake_of_a_stopped_deployment_starts_a_worker_and_waits_for_it() -> None:
    life, effects = step(Life(), Wake(), 10.0)
    assert life.state is State.STARTING and life.worker == 1
    assert effects == [Spawn(1, "woken by a request"), Await()]


def test_resume_starts_and_adopt_serves_at_once() -> None:
    life, effects = step(Life(), Resume(), 0.0)
    assert life.state is State.STARTING and effects == [Spawn(1, "supervisor restart")]
    life, effects = step(Life(), Adopt(), 0.0)
    assert life.state is State.READY and life.worker == 1 and kinds(effects) == [Note]


@pytest.mark.parametrize("event", [IdleTimeout(), BackoffElapsed(), Stop("x"), Shutdown()])
def test_a_stopped_deployment_ignores_timers_and_stops(event: object) -> None:
    assert step(Life(), event, 0.0) == (Life(), [])  # type: ignore[arg-type]


# --- STARTING ----------------------------------------------------------------------------------------
def test_a_start_that_succeeds_is_recorded_and_the_edge_told() -> None:
    starting, _ = step(Life(), Wake(), 0.0)
    life, effects = step(starting, Started(1), 0.1)
    assert life.state is State.READY and life.worker == 1
    assert effects[:2] == [Record("RUNNING", worker=1), Invalidate()]
    assert "woken by a request" in effects[2].text  # type: ignore[union-attr]


def test_a_wake_while_starting_waits_and_spawns_nothing_more() -> None:
    starting, _ = step(Life(), Wake(), 0.0)
    assert step(starting, Wake(), 0.1) == (starting, [Await()])


def test_a_start_that_fails_backs_off() -> None:
    starting, _ = step(Life(), Wake(), 0.0)
    life, effects = step(starting, StartFailed(1, "boom\ntraceback"), 1.0)
    assert life.state is State.BACKOFF and life.worker == 0 and life.retry_at == 1.0 + backoff_delay(1)
    assert Timer(life.retry_at) in effects and Record("RUNNING", last_error="boom\ntraceback") in effects
    assert Invalidate() in effects


def test_an_unhealthy_starting_worker_is_killed() -> None:
    starting, _ = step(Life(), Wake(), 0.0)
    assert step(starting, Unhealthy(1, "hung"), 0.0) == (starting, [Kill(1, "hung")])


# --- READY -------------------------------------------------------------------------------------------
def test_a_wake_of_a_ready_deployment_is_served_by_its_worker() -> None:
    assert step(ready(3), Wake(), 0.0) == (ready(3), [Serve(3)])


def test_an_exit_of_the_serving_worker_backs_off_and_schedules_the_restart() -> None:
    life, effects = step(ready(), Exited(1, "worker exited unexpectedly (status -9)\nlog tail"), 5.0)
    assert life.state is State.BACKOFF and life.exits == (5.0,) and life.retry_at == 5.25
    assert Note("worker exited unexpectedly (status -9)") in effects and Forget(1) in effects
    assert Timer(5.25) in effects and Invalidate() in effects
    assert Record(REGISTRY_STATUS[State.BACKOFF], last_error="worker exited unexpectedly (status -9)\nlog tail") in effects
    assert REGISTRY_STATUS[State.BACKOFF] == "RUNNING"  # a supervisor restart during a backoff resumes it


def test_an_unhealthy_worker_is_killed_and_its_exit_decides() -> None:
    life, effects = step(ready(), Unhealthy(1, "worker killed: memory 500 MiB over the limit"), 0.0)
    assert life == ready() and effects == [Kill(1, "worker killed: memory 500 MiB over the limit")]


def test_an_idle_timeout_drains_the_worker_and_records_stopped() -> None:
    life, effects = step(ready(), IdleTimeout(), 0.0)
    assert life.state is State.DRAINING and life.worker == 1
    assert effects[0] == Record("STOPPED") and Invalidate() in effects and effects[-1] == Terminate(1)
    assert "idle" in next(e.text for e in effects if isinstance(e, Note))


def test_a_stop_drains_like_an_idle_timeout() -> None:
    life, effects = step(ready(), Stop("stopped to reset the state"), 0.0)
    assert life.state is State.DRAINING and Note("stopped to reset the state") in effects and Terminate(1) in effects


def test_shutdown_stops_the_worker_but_keeps_the_registry_running() -> None:
    life, effects = step(ready(), Shutdown(), 0.0)
    assert life.state is State.DRAINING and effects == [Terminate(1)]  # no Record: the next start resumes it


# --- DRAINING ----------------------------------------------------------------------------------------
def test_a_drained_worker_leaves_the_deployment_stopped() -> None:
    draining, _ = step(ready(), IdleTimeout(), 0.0)
    life, effects = step(draining, Drained(1), 1.0)
    assert life.state is State.STOPPED and life.worker == 0 and effects == [Forget(1)]


def test_a_wake_while_draining_starts_once_the_old_worker_is_gone() -> None:
    """The final snapshot is stored before the exit: starting earlier would restore an older state."""
    draining, _ = step(ready(), IdleTimeout(), 0.0)
    waiting, effects = step(draining, Wake(), 0.5)
    assert waiting.state is State.DRAINING and waiting.wake_pending and effects == [Await()]
    life, effects = step(waiting, Drained(1), 1.0)
    assert life.state is State.STARTING and life.worker == 2 and effects == [Forget(1), Spawn(2, "woken by a request")]


def test_a_draining_worker_that_hangs_is_killed() -> None:
    draining, _ = step(ready(), IdleTimeout(), 0.0)
    assert step(draining, Unhealthy(1, "hung"), 0.0)[1] == [Kill(1, "hung")]


# --- BACKOFF -----------------------------------------------------------------------------------------
def test_a_wake_during_backoff_is_refused_until_the_delay_is_over() -> None:
    """The bug this module fixes: a request during a crash backoff restarted the worker at once."""
    backoff, _ = step(ready(), Exited(1, "segfault"), 10.0)
    life, effects = step(backoff, Wake(), 10.1)
    assert life == backoff
    assert len(effects) == 1 and isinstance(effects[0], Refuse)
    assert effects[0].retry_after == pytest.approx(0.15) and "segfault" in effects[0].reason
    assert not any(isinstance(e, Spawn) for e in effects)


def test_backoff_elapsed_restarts_and_counts_a_restart() -> None:
    backoff, _ = step(ready(), Exited(1, "segfault"), 10.0)
    early, effects = step(backoff, BackoffElapsed(), 10.1)
    assert early == backoff and effects == []  # a timer that fires early changes nothing
    life, effects = step(backoff, BackoffElapsed(), 10.25)
    assert life.state is State.STARTING and life.worker == 2 and life.restarts == 1
    assert effects == [Spawn(2, "restart after exit")]


def test_a_stop_during_backoff_leaves_the_deployment_stopped() -> None:
    backoff, _ = step(ready(), Exited(1, "segfault"), 10.0)
    life, effects = step(backoff, Stop("reset"), 10.1)
    assert life.state is State.STOPPED and Record("STOPPED") in effects


def test_the_delay_doubles_per_exit_up_to_the_cap() -> None:
    assert [backoff_delay(n) for n in range(1, 6)] == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert backoff_delay(20) == BACKOFF_MAX


# --- crash loop → FAILED -----------------------------------------------------------------------------
def crash(life: Life, now: float) -> Life:
    """Serve, then exit at ``now``; the restart after the backoff included."""
    if life.state is State.BACKOFF:
        life, _ = step(life, BackoffElapsed(), life.retry_at)
    if life.state is State.STARTING:
        life, _ = step(life, Started(life.worker), life.retry_at)
    return step(life, Exited(life.worker, "crashed"), now)[0]


def test_a_crash_loop_fails_the_deployment_and_nothing_but_a_deploy_restarts_it() -> None:
    life = ready()
    for n in range(CRASH_LIMIT - 1):
        life = crash(life, 100.0 + n * 5)
        assert life.state is State.BACKOFF
    life, _ = step(life, BackoffElapsed(), life.retry_at)
    life, _ = step(life, Started(life.worker), life.retry_at)
    failed, effects = step(life, Exited(life.worker, "crashed again"), 130.0)
    assert failed.state is State.FAILED and failed.error.startswith("crash loop:")
    assert Record("FAILED", last_error="crash loop: crashed again") in effects
    assert any(isinstance(e, Note) and "crash loop" in e.text for e in effects)
    assert not any(isinstance(e, Timer) for e in effects)
    assert REGISTRY_STATUS[State.FAILED] == "FAILED"  # what `mockfleet ls` and GET /deployments/{uuid} show
    for event in (BackoffElapsed(), IdleTimeout(), Resume(), Stop("x")):
        assert step(failed, event, 200.0) == (failed, [])
    life, effects = step(failed, Wake(), 200.0)
    assert life == failed and len(effects) == 1 and isinstance(effects[0], Refuse)
    assert "failing" in effects[0].reason and effects[0].retry_after == 30.0
    deploying, effects = step(failed, Deploy(), 300.0)
    assert effects == [Spawn(deploying.deploying, "deploy", deploy=True)]
    fixed, _ = step(deploying, Started(deploying.deploying), 301.0)
    assert fixed.state is State.READY and fixed.exits == () and fixed.error == ""


def test_exits_spread_over_more_than_the_window_are_no_loop() -> None:
    life = ready()
    for n in range(CRASH_LIMIT * 2):
        life = crash(life, n * (CRASH_WINDOW / (CRASH_LIMIT - 1)))
    assert life.state is State.BACKOFF


def test_a_failing_start_loop_fails_too() -> None:
    life = Life()
    life, _ = step(life, Wake(), 0.0)
    for n in range(CRASH_LIMIT):
        life, _ = step(life, StartFailed(life.worker, "ImportError"), float(n))
        if life.state is State.BACKOFF:
            life, _ = step(life, BackoffElapsed(), life.retry_at)
    assert life.state is State.FAILED


# --- deploys -----------------------------------------------------------------------------------------
def test_a_redeploy_hands_over_and_the_old_worker_retires() -> None:
    life, effects = step(ready(1), Deploy(), 0.0)
    assert life.state is State.READY and life.worker == 1 and life.deploying == 2
    assert effects == [Spawn(2, "deploy", deploy=True)]
    assert step(life, Wake(), 0.1)[1] == [Serve(1)]  # the previous revision serves meanwhile
    switched, effects = step(life, Started(2), 0.5)
    assert switched.state is State.READY and switched.worker == 2 and switched.deploying == 0
    assert effects == [Invalidate(), Retire(1)]


def test_a_failed_redeploy_keeps_the_previous_worker_serving() -> None:
    life, _ = step(ready(1), Deploy(), 0.0)
    after, effects = step(life, StartFailed(2, "SyntaxError"), 0.5)
    assert after == replace(ready(1), next_worker=3) and kinds(effects) == [Note]


@pytest.mark.parametrize("before", [Life(), replace(ready(), state=State.BACKOFF, worker=0, retry_at=9.0,
                                                        exits=(1.0,))])
def test_a_deploy_of_a_stopped_or_backing_off_deployment_serves_and_clears_the_crashes(before: Life) -> None:
    life, _ = step(before, Deploy(), 0.0)
    life, effects = step(life, Started(life.deploying), 0.1)
    assert life.state is State.READY and life.exits == () and life.retry_at == 0.0
    assert effects == [Invalidate()]
    assert step(life, BackoffElapsed(), 10.0) == (life, [])  # the old backoff's timer is harmless


def test_a_deploy_during_a_wakes_start_wins_and_the_wakes_worker_is_stopped_once_up() -> None:
    starting, _ = step(Life(), Wake(), 0.0)
    life, _ = step(starting, Deploy(), 0.1)
    life, effects = step(life, Started(life.deploying), 0.2)
    assert life.state is State.READY and life.worker == 2 and Terminate(1) in effects
    assert step(life, Started(1), 0.3) == (life, [Terminate(1)])  # stale: nobody wants it


def test_a_deploy_during_an_idle_drain_serves_at_once() -> None:
    draining, _ = step(ready(1), IdleTimeout(), 0.0)
    life, _ = step(draining, Deploy(), 0.1)
    life, effects = step(life, Started(2), 0.2)
    assert life.state is State.READY and life.worker == 2 and effects == [Invalidate()]
    assert step(life, Drained(1), 0.3) == (life, [])  # the old worker's drain is stale


# --- stale events and deletion -----------------------------------------------------------------------
def test_events_about_other_workers_change_nothing() -> None:
    life = ready(5)
    assert step(life, Exited(4, "old revision"), 0.0) == (life, [Forget(4)])
    assert step(life, Drained(4), 0.0) == (life, [])
    assert step(life, Unhealthy(4, "hung"), 0.0) == (life, [])
    assert step(life, StartFailed(4, "x"), 0.0) == (life, [])


@pytest.mark.parametrize("before", [Life(), ready(1), step(Life(), Wake(), 0.0)[0],
                                    step(ready(1), IdleTimeout(), 0.0)[0]])
def test_delete_stops_any_worker_and_is_final(before: Life) -> None:
    life, effects = step(before, Delete(), 0.0)
    assert life.state is State.DELETED and Invalidate() in effects
    assert (Terminate(before.worker) in effects) == bool(before.worker)
    assert step(life, Wake(), 1.0)[1] == [Refuse("no such instance", 0.0)]
    assert step(life, Started(7), 1.0) == (life, [Terminate(7)])  # a start that lost to the delete
    assert step(life, BackoffElapsed(), 1.0) == (life, [])


# --- timed events and start-up -----------------------------------------------------------------------
def test_due_gives_the_end_of_a_backoff_and_idle_timeouts() -> None:
    backoff, _ = step(ready(), Exited(1, "x"), 10.0)
    assert due(backoff, 10.1, 0.0, 0.0) is None
    assert due(backoff, 10.3, 0.0, 0.0) == BackoffElapsed()
    assert due(ready(), 100.0, 50.0, 0.0) is None  # idle stop off
    assert due(ready(), 100.0, 50.0, 60.0) is None
    assert due(ready(), 100.0, 30.0, 60.0) == IdleTimeout()
    assert due(Life(), 100.0, 0.0, 1.0) is None


def test_initial_keeps_failed_and_its_error() -> None:
    assert initial("FAILED", "crash loop: x") == Life(state=State.FAILED, error="crash loop: x")
    assert initial("RUNNING") == Life() and initial("STOPPED") == Life()


def test_every_state_answers_a_wake() -> None:
    """A request never hangs on a state the table forgot: each one serves, waits or refuses."""
    lives = {
        State.STOPPED: Life(), State.STARTING: step(Life(), Wake(), 0.0)[0], State.READY: ready(),
        State.DRAINING: step(ready(), IdleTimeout(), 0.0)[0], State.BACKOFF: step(ready(), Exited(1, "x"), 0.0)[0],
        State.FAILED: Life(state=State.FAILED, error="crash loop"), State.DELETED: Life(state=State.DELETED),
    }
    assert set(lives) == set(State)
    for state, life in lives.items():
        assert life.state is state
        _, effects = step(life, Wake(), 0.1)
        assert any(isinstance(e, (Serve, Await, Refuse)) for e in effects), state
