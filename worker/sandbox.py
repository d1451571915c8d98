"""A worker confines itself once its socket is bound and before it serves anybody's request.

Order matters: the socket, log and heartbeat are opened first (as whoever started us), then a
network namespace without network when outbound traffic goes through the broker (no interface but a
loopback that is down: pathname Unix sockets still reach the supervisor), then
the bounding capabilities go, then the uid (root → an unprivileged uid of its own, so workers
cannot signal or trace each other), ``no_new_privs``, process and file-size limits, Landlock
(read-only: the Python installation and the few system files Python reads; nothing writable)
and last seccomp (no ``execve``, no new processes — threads only —, no socket families beyond
Unix and IP — Unix only without network —, none of the kernel's administrative calls). Each step that this host or user
cannot take is skipped and named in the result, which the worker publishes in its heartbeat.

The namespace is a worker's own when spawned. A fork server makes one empty namespace for all its
children (``share_network``) when Landlock can scope abstract Unix sockets and signals (ABI 6): the
abstract socket names, the one thing such a namespace still shares, are then out of every other
worker's reach. Creating a namespace takes the kernel's network locks, which its clean-up of dead
namespaces holds for as long as it takes: measured, a start waited 80–160 ms once 2,000 workers
with namespaces of their own had exited, and joining a namespace is 1.2 ms cheaper than making one.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import resource
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.heartbeat import SandboxFlag

PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
CAP_LAST_CAP = 63  # PR_CAPBSET_DROP answers EINVAL past the kernel's last; we stop there
CLONE_THREAD = 0x00010000
CLONE_NEWNET = 0x40000000
ALLOWED_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6)
DENIED_SYSCALLS = (
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf", "perf_event_open",
    "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "io_uring_setup", "userfaultfd", "personality",
    "kill",  # a worker left as uid 0 must not signal the supervisor or the edge
)
SYSTEM_READS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo", "/etc/localtime")

# Landlock (linux/landlock.h): syscalls 444-446 on x86_64 and aarch64 alike
_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 2, 1 << 3
_FS_ABI1_ALL = (1 << 13) - 1  # every filesystem right of ABI 1: all are denied unless a rule grants them
_FS_ABI_EXTRA = {2: 1 << 13, 3: 1 << 14}  # REFER, TRUNCATE


_SCOPE_ABI = 6  # LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET and LANDLOCK_SCOPE_SIGNAL
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


_ATTR_SIZES = {1: 8, 4: 16, _SCOPE_ABI: 24}  # the attribute's size as each ABI first knew it

# A fork server's empty network namespace, which its children join (``share_network``)
_shared_network: int | None = None


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@dataclass
class Confinement:
    applied: SandboxFlag = SandboxFlag(0)
    missing: dict[str, str] = field(default_factory=dict)  # flag name → why it was not applied

    def skip(self, flag: SandboxFlag, why: str) -> None:
        self.missing[flag.name or str(int(flag))] = why


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    return libc


@functools.cache
def read_only_paths() -> tuple[str, ...]:
    """The Python installation (prefixes and every import path) and what Python reads from the system."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *SYSTEM_READS}
    paths.update(p for p in sys.path if p)
    return tuple(sorted(p for p in paths if os.path.exists(p)))


@functools.cache
def _unreadable(paths: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p for p in paths if not _readable_by_others(p))


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 without Landlock."""
    return max(0, int(_libc().syscall(_LANDLOCK_CREATE_RULESET, None, 0, 1)))  # ..._RULESET_VERSION


def share_network() -> str | None:
    """Make the empty network namespace this fork server's children will join instead of each
    making its own; None when made, else why not (the children then make their own)."""
    global _shared_network
    if os.geteuid() != 0:
        return "not root"
    if landlock_abi() < _SCOPE_ABI:
        return f"Landlock ABI {landlock_abi()} cannot scope abstract Unix sockets (needs {_SCOPE_ABI})"
    libc = _libc()
    own = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
        empty = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        if libc.setns(own, CLONE_NEWNET) != 0:  # pragma: no cover - root may always return
            raise OSError(ctypes.get_errno(), "setns back to the fork server's own network failed")
    finally:
        os.close(own)
    if _shared_network is not None:
        os.close(_shared_network)
    _shared_network = empty
    return None


def prepare() -> None:
    """Work every worker's ``confine`` repeats alike (libc, the paths and whether another uid may read
    them, both syscall filters), done once by a fork server before it forks: 3 ms off each start."""
    _unreadable(read_only_paths())
    _seccomp_filter((socket.AF_UNIX,))
    _seccomp_filter(ALLOWED_FAMILIES)
    _libc()
    landlock_abi()


def _readable_by_others(path: str) -> bool:
    """Whether an unprivileged uid could reach ``path`` (every directory above it searchable by others)."""
    current = Path(path).resolve()
    for part in (current, *current.parents):
        try:
            mode = part.stat().st_mode
        except OSError:
            return False
        if part.is_dir() and not mode & 0o001:
            return False
    return bool(current.stat().st_mode & 0o004)


def _drop_bounding_set(libc: ctypes.CDLL) -> bool:
    for cap in range(CAP_LAST_CAP + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            if ctypes.get_errno() == errno.EINVAL:
                break  # past the kernel's last capability
            return False
    return True


def _open_paths(paths: tuple[str, ...]) -> list[tuple[int, bool]]:
    """O_PATH descriptors of the read-only paths, taken while we may still open them all."""
    opened = []
    for path in paths:
        try:
            opened.append((os.open(path, os.O_PATH | os.O_CLOEXEC), os.path.isdir(path)))
        except OSError:
            pass
    return opened


def _landlock(libc: ctypes.CDLL, paths: list[tuple[int, bool]]) -> str | None:
    """Restrict the filesystem to reading ``paths``; None when applied, else why not."""
    abi = landlock_abi()
    if abi < 1:
        return "the kernel has no Landlock"
    handled = _FS_ABI1_ALL
    for version, right in _FS_ABI_EXTRA.items():
        if abi >= version:
            handled |= right
    # scoped: no connecting to another worker's abstract Unix socket, no signal out of this domain
    attr = _RulesetAttr(handled, 0, _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= _SCOPE_ABI else 0)
    size = _ATTR_SIZES[max(version for version in _ATTR_SIZES if version <= abi)]
    ruleset = libc.syscall(_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}"
    try:
        for fd, is_dir in paths:
            rule = _PathBeneath(_FS_READ_FILE | _FS_EXECUTE | (_FS_READ_DIR if is_dir else 0), fd)
            if libc.syscall(_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                return f"landlock_add_rule failed: {os.strerror(ctypes.get_errno())}"
        if libc.syscall(_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            return f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return None


def _leave_network(libc: ctypes.CDLL, shared: int | None) -> str | None:
    """Into the fork server's empty network namespace (``shared``, closed here), else one of our own
    (interfaces: a loopback that is down); None, else why not."""
    if shared is not None:
        joined = libc.setns(shared, CLONE_NEWNET) == 0
        why = os.strerror(ctypes.get_errno())
        os.close(shared)
        if joined:
            return None
        print(f"sandbox: setns into the shared network failed ({why}): a namespace of its own",
              file=sys.stderr, flush=True)
    libc.unshare.restype = ctypes.c_int
    if libc.unshare(CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    return None


@functools.cache
def _seccomp_filter(families: tuple[int, ...] = ALLOWED_FAMILIES) -> Any:
    """The syscall filter, built (libseccomp loaded) while the filesystem is still open to us;
    a string saying why when it cannot be. Loading it does not change it: a fork server's children
    each load the one it built."""
    try:
        import pyseccomp as seccomp

        deny = seccomp.ERRNO(errno.EPERM)
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
    except (ImportError, OSError, RuntimeError) as error:
        return f"libseccomp is not available ({error})"
    for name in DENIED_SYSCALLS:
        try:
            rules.add_rule(deny, name)
        except (OSError, RuntimeError, ValueError):
            pass  # a call this architecture does not have
    # clone for threads only; clone3 hides its flags in memory a filter cannot read: glibc falls back to clone
    rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    no_family = seccomp.ERRNO(errno.EAFNOSUPPORT)
    top = max(families)
    for family in range(top):
        if family not in families:
            rules.add_rule(no_family, "socket", seccomp.Arg(0, seccomp.EQ, family))
    rules.add_rule(no_family, "socket", seccomp.Arg(0, seccomp.GT, top))
    return rules


def _clear_capabilities(libc: ctypes.CDLL) -> bool:
    """capset(2) with every set empty: a worker left as uid 0 cannot bypass permissions any more."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    return int(libc.capset(ctypes.byref(header), ctypes.byref(data))) == 0


def confine(uid: int | None, *, max_processes: int = 64, max_file_size: int | None = None,
            isolate_network: bool = False) -> Confinement:
    """Apply every restriction this process can; return what was applied and what was not, and why.

    ``isolate_network``: outbound connections come from the broker, so the worker needs no network."""
    global _shared_network
    result = Confinement()
    libc = _libc()
    root = os.geteuid() == 0
    shared, _shared_network = _shared_network, None
    if shared is not None and not (isolate_network and root):
        os.close(shared)
    if not isolate_network:
        result.skip(SandboxFlag.no_network, "no outbound broker: the worker connects itself")
    elif not root:
        result.skip(SandboxFlag.no_network, "not started as root: no network namespace (outbound still goes "
                                            "through the broker)")
    else:
        why_not = _leave_network(libc, shared)
        if why_not is None:
            result.applied |= SandboxFlag.no_network
        else:
            result.skip(SandboxFlag.no_network, why_not)
    paths = read_only_paths()
    path_fds = _open_paths(paths)
    rules = _seccomp_filter((socket.AF_UNIX,) if result.applied & SandboxFlag.no_network else ALLOWED_FAMILIES)
    if root:
        if _drop_bounding_set(libc):
            result.applied |= SandboxFlag.no_capabilities
        else:
            result.skip(SandboxFlag.no_capabilities, "PR_CAPBSET_DROP refused")
        unreadable = _unreadable(paths)
        if uid is None:
            result.skip(SandboxFlag.unprivileged_uid, "no uid was given")
        elif unreadable:
            result.skip(SandboxFlag.unprivileged_uid, f"{unreadable[0]} is not readable by other users")
        else:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)  # clears the permitted and effective capabilities with it
            result.applied |= SandboxFlag.unprivileged_uid
        if not result.applied & SandboxFlag.unprivileged_uid and not _clear_capabilities(libc):
            result.applied &= ~SandboxFlag.no_capabilities
            result.skip(SandboxFlag.no_capabilities, "capset refused: still root with its capabilities")
    else:
        result.skip(SandboxFlag.unprivileged_uid, "not started as root: runs as the supervisor's user")
        if _drop_bounding_set(libc):
            result.applied |= SandboxFlag.no_capabilities
        else:
            result.skip(SandboxFlag.no_capabilities, "no CAP_SETPCAP to clear the bounding set")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        result.applied |= SandboxFlag.no_new_privs
    else:
        result.skip(SandboxFlag.no_new_privs, os.strerror(ctypes.get_errno()))
    try:
        if max_file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_size, max_file_size))
        if result.applied & SandboxFlag.unprivileged_uid:
            # counted per uid: only meaningful (and only safe) when the uid is the worker's own
            resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))
            result.applied |= SandboxFlag.rlimits
        else:
            result.skip(SandboxFlag.rlimits, "RLIMIT_NPROC would count the shared user's other processes")
    except (ValueError, OSError) as error:
        result.skip(SandboxFlag.rlimits, str(error))
    why = _landlock(libc, path_fds) if result.applied & SandboxFlag.no_new_privs else "needs no_new_privs"
    for fd, _ in path_fds:
        os.close(fd)
    if why is None:
        result.applied |= SandboxFlag.landlock
    else:
        result.skip(SandboxFlag.landlock, why)
    if isinstance(rules, str):
        result.skip(SandboxFlag.seccomp, rules)
    else:
        try:
            rules.load()
            result.applied |= SandboxFlag.seccomp
        except (OSError, RuntimeError) as error:
            result.skip(SandboxFlag.seccomp, f"seccomp_load failed: {error}")
    return result
