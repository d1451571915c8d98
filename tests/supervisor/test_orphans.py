"""Which leftover processes a starting supervisor stops: spawned and forked workers nobody records."""

from __future__ import annotations

from collections.abc import Iterable

from supervisor.orphans import Owned, SeenProcess, orphans

RUN = "/data/run"
PY = ("/venv/bin/python", "-m", "worker")
FORK_CMD = (*PY, "-", "--fork-server", f"{RUN}/fork-abc.sock")


def spawned(pid: int, socket: str, started: float = 100.0) -> SeenProcess:
    return SeenProcess(pid, 1, started, (*PY, "-", "--uds", f"{RUN}/{socket}"))


def forked(pid: int, ppid: int = 1, started: float = 100.0) -> SeenProcess:
    return SeenProcess(pid, ppid, started, FORK_CMD)


def owned(sockets: Iterable[str] = (), workers: Iterable[tuple[int, float]] = (),
          fork_servers: Iterable[int] = ()) -> Owned:
    return Owned(frozenset(f"{RUN}/{s}" for s in sockets), frozenset(workers), frozenset(fork_servers))


def test_a_spawned_worker_is_kept_only_when_its_socket_is_recorded() -> None:
    seen = [spawned(10, "w-a.sock"), spawned(11, "w-b.sock")]
    assert orphans(seen, RUN, owned(sockets={"w-a.sock"})) == [11]


def test_a_forked_worker_is_kept_only_when_its_pid_and_start_time_are_recorded() -> None:
    seen = [forked(20, started=500.2), forked(21, started=500.0), forked(22, started=900.0)]
    # 21 is a recorded pid reused by another process started much later: not ours
    kept = owned(workers={(20, 500.0), (22, 100.0)})
    assert orphans(seen, RUN, kept) == [21, 22]


def test_our_fork_servers_and_the_children_they_are_forking_now_are_kept() -> None:
    ours, previous = forked(30, ppid=1000), forked(31, ppid=1)  # the previous supervisor's fork server lives on
    starting = forked(32, ppid=30)  # forked a moment ago, not recorded yet
    assert orphans([ours, previous, starting], RUN, owned(fork_servers={30})) == [31]


def test_processes_of_another_run_directory_or_not_workers_are_left_alone() -> None:
    other = SeenProcess(40, 1, 1.0, (*PY, "-", "--fork-server", "/elsewhere/run/fork-abc.sock"))
    other_spawned = SeenProcess(41, 1, 1.0, (*PY, "-", "--uds", "/elsewhere/run/w-x.sock"))
    editor = SeenProcess(42, 1, 1.0, ("vim", f"{RUN}/notes"))
    trailing = SeenProcess(43, 1, 1.0, (*PY, "--fork-server"))  # the flag without a following argument
    assert orphans([other, other_spawned, editor, trailing], RUN, owned()) == []
