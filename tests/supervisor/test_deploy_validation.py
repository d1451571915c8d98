"""Deploy validation: a pure function of the body, run by the supervisor in a child process with a budget."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import msgspec
import trio

from schemas.deploy_validation import Refused, Validated, ValidationJob
from supervisor.deploy_validation import validate
from supervisor.validator import Budget, Validator, outcome
from tests.conftest import deploy_body, make_env

JOB = ValidationJob(max_schema=33, runtime="builtin", max_environment_bytes=20 * 2**20)
CHILD = Budget(in_process_bytes=0)  # every body in a child, however small


def body(env: dict[str, Any]) -> bytes:
    return json.dumps(deploy_body(env)).encode()


def route(i: int, responses: int = 1) -> dict[str, Any]:
    return {"uuid": f"r-{i}", "type": "http", "method": "get", "endpoint": f"e{i}",
            "responses": [{"uuid": f"s-{i}-{j}", "body": "x" * 50, "statusCode": 200, "default": j == 0}
                          for j in range(responses)]}


def test_a_valid_request_comes_back_migrated_with_its_repairs_and_warnings() -> None:
    env = make_env([route(1)], lastMigration=28)
    result = validate(body(env), JOB)
    assert isinstance(result, Validated), result
    assert result.uuid == env["uuid"] and result.from_version == 28 and result.visibility == "PUBLIC"
    assert json.loads(result.migrated)["lastMigration"] == 33
    assert json.loads(result.uploaded) == env
    assert any(r.path == "$.routes[0].responses[0].uuid" for r in result.repairs)  # "s-1-0" is no UUID


def test_refusals_name_status_and_path() -> None:
    for data, status in ((b"{", 400), (b"[]", 422), (b'{"environment": []}', 422)):
        refused = validate(data, JOB)
        assert isinstance(refused, Refused) and refused.status == status, (data, refused)
    deep = json.dumps(deploy_body(make_env([]))).replace('"name": "test"', '"name": "t", "x": ' + "[" * 5000 + "]" * 5000)
    refused = validate(deep.encode(), JOB)
    assert isinstance(refused, Refused) and refused.status == 422 and "nested deeper" in refused.message
    newer = validate(body(make_env([], lastMigration=99)), JOB)
    assert isinstance(newer, Refused) and newer.path == "$.lastMigration" and "builtin, schema 33" in newer.message


def test_one_size_limit_on_the_migrated_environment() -> None:
    env = make_env([route(i) for i in range(200)])
    small = ValidationJob(max_schema=33, runtime="builtin", max_environment_bytes=100_000)
    refused = validate(body(env), small)
    assert isinstance(refused, Refused) and refused.status == 413, refused
    assert "once migrated" in refused.message and "over the 0.0953674 MiB allowed" in refused.message
    # unknown fields are dropped by the migration: a large upload that migrates small is fine
    padded = make_env([route(1)], padding="x" * 200_000)
    assert isinstance(validate(body(padded), small), Validated)


def test_how_the_child_ended_is_an_answer() -> None:
    budget = Budget(cpu_seconds=7)
    ok = Refused(status=409, message="m")
    assert outcome(0, msgspec.msgpack.encode(ok), b"", budget) == ok
    cpu = outcome(-signal.SIGXCPU, b"", b"", budget)
    assert isinstance(cpu, Refused) and cpu.status == 422 and "7 s of CPU" in cpu.message
    crash = outcome(1, b"", b"Traceback\nMemoryError\n", budget)
    assert isinstance(crash, Refused) and crash.status == 500 and "MemoryError" in crash.message


def big_body(routes: int) -> bytes:
    env = make_env([route(i, responses=5) for i in range(routes)])
    return body(env)


def test_the_child_answers_and_a_cpu_budget_stops_a_huge_upload() -> None:
    async def main() -> None:
        fine = await Validator(CHILD).validate(body(make_env([route(1)])), JOB)
        assert isinstance(fine, Validated)
        huge = big_body(8000)  # about 11 MiB: several seconds of repair
        started = time.monotonic()
        stopped = await Validator(Budget(cpu_seconds=1)).validate(huge, JOB)
        assert isinstance(stopped, Refused) and stopped.status == 422 and "1 s of CPU" in stopped.message, stopped
        assert time.monotonic() - started < 30

    trio.run(main)


def test_a_wall_clock_deadline_ends_the_child() -> None:
    async def main() -> None:
        started = time.monotonic()
        late = await Validator(Budget(wall_seconds=0.3)).validate(big_body(8000), JOB)
        assert isinstance(late, Refused) and late.status == 503 and "0.3 s" in late.message
        assert time.monotonic() - started < 10

    trio.run(main)


def test_children_are_forked_from_a_warm_fork_server_which_is_replaced_when_it_dies() -> None:
    async def main() -> None:
        validator = Validator(CHILD)
        try:
            first = await validator.validate(body(make_env([route(1)])), JOB)
            assert isinstance(first, Validated)
            forks = validator.forks
            assert forks is not None and forks.popen is not None
            server = forks.popen.pid
            started = time.monotonic()
            for i in range(10):
                again = await validator.validate(body(make_env([route(i)])), JOB)
                assert isinstance(again, Validated) and again.uuid
            per_job = (time.monotonic() - started) / 10
            assert forks.popen.pid == server  # the same warm process served every job
            print(f"validation per deploy, forked: {per_job * 1000:.1f} ms")
            forks.popen.kill()
            forks.popen.wait()
            after = await validator.validate(body(make_env([route(2)])), JOB)
            assert isinstance(after, Validated)
            assert forks.popen is not None and forks.popen.pid != server and forks.popen.poll() is None
        finally:
            validator.close()
        assert validator.forks is not None and validator.forks.popen is None

    trio.run(main)


def test_a_forked_child_past_its_deadline_is_killed() -> None:
    import psutil

    async def main() -> None:
        validator = Validator(Budget(wall_seconds=1.0, in_process_bytes=0))
        try:
            await validator.validate(body(make_env([route(1)])), JOB)  # the fork server is warm
            forks = validator.forks
            assert forks is not None and forks.popen is not None
            late = await validator.validate(big_body(8000), JOB)
            assert isinstance(late, Refused) and late.status == 503
            deadline = time.monotonic() + 10
            while psutil.Process(forks.popen.pid).children(recursive=True) and time.monotonic() < deadline:
                await trio.sleep(0.05)  # the monitor reports the kill, then exits
            assert not psutil.Process(forks.popen.pid).children(recursive=True)
        finally:
            validator.close()

    trio.run(main)


def test_a_small_body_is_validated_on_the_loop_and_a_larger_one_in_a_forked_child() -> None:
    async def main() -> None:
        validator = Validator()
        try:
            small = body(make_env([route(1)]))
            assert len(small) <= validator.budget.in_process_bytes
            assert isinstance(await validator.validate(small, JOB), Validated)
            assert validator.forks is not None and validator.forks.popen is None  # no child was needed
            large = big_body(20)
            assert len(large) > validator.budget.in_process_bytes
            assert isinstance(await validator.validate(large, JOB), Validated)
            assert validator.forks.popen is not None and validator.forks.popen.poll() is None
        finally:
            validator.close()

    trio.run(main)
