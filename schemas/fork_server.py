"""Messages on a fork server's control socket (supervisor → fork server → supervisor).

The supervisor sends a ``ForkRequest`` with two descriptors beside it (SCM_RIGHTS): the read end
of the pipe that carries the hand-over (the child's stdin) and the worker's log (its stdout and
stderr). The fork server answers ``Forked`` with the child's pid, or ``ForkRefused``.
"""

from __future__ import annotations

import msgspec

MAX_MESSAGE = 64 * 1024


class ForkRequest(msgspec.Struct, kw_only=True, tag=True):
    argv: list[str]  # the worker's arguments after the runtime command, as a spawn would pass them
    address_space: int
    open_files: int
    file_size: int


class Forked(msgspec.Struct, kw_only=True, tag=True):
    pid: int


class ForkRefused(msgspec.Struct, kw_only=True, tag=True):
    reason: str


ForkAnswer = Forked | ForkRefused
