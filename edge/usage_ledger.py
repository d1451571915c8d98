"""Requests the edge forwarded, per deployment, in a memory-mapped file that outlives the edge.

A killed edge used to lose what it had counted since its last report (531 of 22,507 requests
in the issue 13 probe). Each count is now an increment of a 64-bit counter in a shared file
mapping: the kernel owns those pages, so a ``kill -9`` loses nothing, and the edge that
starts next reports what its predecessor counted.

Counters only ever grow. Reports carry the totals with the ledger's id, and the supervisor
applies the difference from the last total it saw for that (ledger, deployment): a report that
is sent twice (its answer lost in a crash) counts once. When every total has been
acknowledged, ``rotate`` starts a fresh ledger under a new id (a new file renamed over the old
one, so a crash leaves one or the other whole).

Layout: a 64-byte header (magic, id, slots in use, capacity) then fixed 160-byte slots:
counted (u64), account (i64), uuid length (u8), uuid (up to 128 bytes).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import secrets
import struct
from pathlib import Path

MAGIC = b"MFCOUNT1"
HEADER = struct.Struct("<8s16sII")  # magic, id, slots in use, capacity
HEADER_SIZE = 64
SLOT_SIZE = 160
UUID_MAX = 128
CAPACITY = 16_384
_SLOT = struct.Struct("<QqB")  # counted, account, uuid length


class LedgerBusy(Exception):
    """Another live edge holds the ledger file (its lock is released when it exits)."""


class LedgerFull(Exception):
    """Every slot holds a deployment; counts go to memory until a rotation frees them."""


class UsageLedger:
    """Cumulative counts per deployment; ``path`` None keeps them in anonymous memory."""

    def __init__(self, path: Path | None = None, capacity: int = CAPACITY) -> None:
        self.path = path
        self.capacity = capacity
        self._fd = -1
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._fd)
                raise LedgerBusy(f"{path} is held by another edge") from None
        self._map = self._open_map()
        self._counts = memoryview(self._map).cast("Q")
        self.index: dict[str, int] = {}  # deployment -> word offset of its counter
        self.accounts: dict[str, int] = {}
        self.overflow: dict[str, int] = {}  # counted while every slot was taken (lost in a crash)
        self._load()

    # --- file ---------------------------------------------------------------------------------
    def _size(self) -> int:
        return HEADER_SIZE + self.capacity * SLOT_SIZE

    def _open_map(self) -> mmap.mmap:
        size = self._size()
        if self._fd < 0:
            mapped = mmap.mmap(-1, size)
            HEADER.pack_into(mapped, 0, MAGIC, secrets.token_bytes(16), 0, self.capacity)
            return mapped
        valid = False
        if os.fstat(self._fd).st_size == size:
            mapped = mmap.mmap(self._fd, size)
            magic, _, used, capacity = HEADER.unpack_from(mapped, 0)
            valid = magic == MAGIC and capacity == self.capacity and used <= capacity
            if valid:
                return mapped
            mapped.close()
        # new, or not ours: start afresh (what it held cannot be read anyway)
        os.ftruncate(self._fd, 0)
        os.ftruncate(self._fd, size)
        mapped = mmap.mmap(self._fd, size)
        HEADER.pack_into(mapped, 0, MAGIC, secrets.token_bytes(16), 0, self.capacity)
        return mapped

    def _load(self) -> None:
        for slot in range(self.used_slots):
            base = HEADER_SIZE + slot * SLOT_SIZE
            _, account, length = _SLOT.unpack_from(self._map, base)
            uuid = bytes(self._map[base + _SLOT.size:base + _SLOT.size + length]).decode("ascii", "replace")
            self.index[uuid] = base // 8
            self.accounts[uuid] = account

    @property
    def edge_id(self) -> str:
        return bytes(self._map[8:24]).hex()

    @property
    def used_slots(self) -> int:
        return int(HEADER.unpack_from(self._map, 0)[2])

    # --- counting -----------------------------------------------------------------------------
    def add(self, deployment: str, account: int) -> None:
        word = self.index.get(deployment)
        if word is None:
            try:
                word = self._allocate(deployment, account)
            except LedgerFull:
                self.overflow[deployment] = self.overflow.get(deployment, 0) + 1
                self.accounts[deployment] = account
                return
        self._counts[word] += 1

    def _allocate(self, deployment: str, account: int) -> int:
        used = self.used_slots
        raw = deployment.encode("ascii", "replace")[:UUID_MAX]
        if used >= self.capacity:
            raise LedgerFull(f"{self.capacity} deployments counted since the last rotation")
        base = HEADER_SIZE + used * SLOT_SIZE
        # the slot is written whole before the header publishes it
        _SLOT.pack_into(self._map, base, 0, account, len(raw))
        self._map[base + _SLOT.size:base + _SLOT.size + len(raw)] = raw
        struct.pack_into("<I", self._map, 24, used + 1)
        self.index[deployment] = base // 8
        self.accounts[deployment] = account
        return base // 8

    def totals(self) -> dict[str, int]:
        counts = self._counts
        totals = {deployment: counts[word] for deployment, word in self.index.items()}
        for deployment, n in self.overflow.items():
            totals[deployment] = totals.get(deployment, 0) + n
        return totals

    def rotate(self) -> None:
        """A fresh ledger with a new id and no slots (call when every total is acknowledged)."""
        self._counts.release()
        if self._fd < 0:
            self._map.close()
            self._map = self._open_map()
        else:
            assert self.path is not None
            fresh = self.path.with_name(self.path.name + ".new")
            fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(fd, self._size())
            mapped = mmap.mmap(fd, self._size())
            HEADER.pack_into(mapped, 0, MAGIC, secrets.token_bytes(16), 0, self.capacity)
            mapped.flush()
            os.replace(fresh, self.path)
            self._map.close()
            os.close(self._fd)
            self._fd, self._map = fd, mapped
        self._counts = memoryview(self._map).cast("Q")
        self.index.clear()
        self.accounts.clear()
        self.overflow.clear()

    def close(self) -> None:
        self._counts.release()
        self._map.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
