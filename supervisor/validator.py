"""Run deploy validation in a child process with a CPU, memory and wall-clock budget.

Why a process rather than a thread: the work is pure Python, so a thread would still hold the
GIL against the event loop (every API call and cache-missing mock lookup waits its turn), a
hostile upload could take the supervisor's memory with it, and a thread cannot be stopped. A
child is forked from a warm fork server (``supervisor/validation_forks.py``) in a few milliseconds;
a spawned interpreter (75 ms, when forking is unavailable) is the fallback. Bodies of a few KiB
are validated on the loop (half a millisecond for a one-route environment): none of the reasons
above holds at that size, and the child would cost thirty times the work.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import trio

from schemas.deploy_validation import Refused, ValidationFork, ValidationJob, ValidationResult

from .deploy_validation import validate
from .validation_forks import ForkUnavailable, ValidationForks


@dataclass(frozen=True)
class Budget:
    cpu_seconds: int = 30
    address_space: int = 2 * 1024**3
    wall_seconds: float = 90.0
    concurrent: int = 2  # validations at once; more wait their turn (the API rate limit bounds the queue)
    in_process_bytes: int = 8 * 1024  # smaller bodies validate on the loop: ~0.5 ms, less than forking a child
    niceness: int = 10  # below the edge and the workers: serving mocks comes before validating uploads


def _limits(budget: Budget) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (budget.cpu_seconds, budget.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_AS, (budget.address_space, budget.address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.nice(budget.niceness)
    return apply


def outcome(returncode: int, stdout: bytes, stderr: bytes, budget: Budget) -> ValidationResult:
    """The child's answer, or what its exit says (pure, so every way it can end is tested)."""
    if returncode == 0:
        try:
            return msgspec.msgpack.decode(stdout, type=ValidationResult)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL) and not stdout:
        return Refused(status=422, message=f"validating the environment took more than the {budget.cpu_seconds} s "
                                           "of CPU allowed; split it into smaller environments")
    last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {returncode}"]
    return Refused(status=500, message=f"the environment could not be validated: {last[0][:300]}")


class Validator:
    """At most ``budget.concurrent`` children at once; each is killed at its wall-clock deadline."""

    def __init__(self, budget: Budget | None = None, fork: bool = True) -> None:
        self.budget = budget or Budget()
        self.slots = trio.CapacityLimiter(self.budget.concurrent)
        self.forks = ValidationForks() if fork else None

    def warm(self) -> None:
        if self.forks is not None:
            self.forks.warm()

    def close(self) -> None:
        if self.forks is not None:
            self.forks.close()

    async def validate(self, body: bytes, job: ValidationJob) -> ValidationResult:
        budget = self.budget
        if len(body) <= budget.in_process_bytes:
            return validate(body, job)  # too small to hold the loop, take memory or need a CPU limit
        payload = msgspec.json.encode(job) + b"\n" + body
        async with self.slots:
            with trio.move_on_after(self.budget.wall_seconds):
                if self.forks is not None:
                    try:
                        forked = await self.forks.run(payload, ValidationFork(
                            cpu_seconds=budget.cpu_seconds, address_space=budget.address_space,
                            niceness=budget.niceness))
                        return outcome(forked.returncode, forked.stdout, forked.stderr, budget)
                    except ForkUnavailable:
                        pass  # spawned below
                done = await trio.run_process(
                    [sys.executable, "-m", "supervisor.deploy_validation"], stdin=payload, capture_stdout=True,
                    capture_stderr=True, check=False, preexec_fn=_limits(self.budget), start_new_session=True)
                return outcome(done.returncode, done.stdout, done.stderr, self.budget)
        return Refused(status=503, message=f"validating the environment did not finish within "
                                           f"{self.budget.wall_seconds:g} s; try again later")

