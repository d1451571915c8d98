"""The heartbeat file a worker shares with the supervisor: its layout and the sandbox flags in it.

32 bytes: a float, the worker loop's last ``time.monotonic()`` (0 before the first beat), then a
u64 of ``SandboxFlag`` bits the worker sets once it has confined itself, then a float the
supervisor writes: how many seconds an idle worker may go between beats (0: beat at the busy
rate always, what a worker does with a file that has no such field), then a float the worker
writes: the stamp at which it parked, idle with nothing to hang on, beating no more until work
arrives (0: not parked; workers of older runtimes never park). Worker and supervisor both import
this; neither imports the other.
"""

from __future__ import annotations

import enum
import struct

LAYOUT = struct.Struct("=dQdd")
SIZE = LAYOUT.size
STAMP = struct.Struct("=d")  # at offset 0
FLAGS = struct.Struct("=Q")  # at offset 8
FLAGS_OFFSET = 8
IDLE = struct.Struct("=d")  # at offset 16
IDLE_OFFSET = 16
PARKED = struct.Struct("=d")  # at offset 24
PARKED_OFFSET = 24


class SandboxFlag(enum.IntFlag):
    """What a worker's confinement achieved (the names are what operators read)."""

    unprivileged_uid = 1
    no_new_privs = 2
    no_capabilities = 4
    seccomp = 8
    landlock = 16
    rlimits = 32
    no_network = 64  # a network namespace without interfaces; outbound goes through the supervisor's broker


ALL_FLAGS = SandboxFlag(sum(SandboxFlag))


def flag_names(flags: int) -> list[str]:
    return [flag.name or "" for flag in SandboxFlag if flags & flag]
