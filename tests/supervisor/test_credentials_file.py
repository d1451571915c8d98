"""``credentials.json`` is replaced whole: a reader polling it while ``up`` rewrites it (as a client
waiting for the platform does) never reads it empty or half written, and it stays private (0600)."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

from supervisor.up_command import _write_private


def test_a_reader_never_sees_the_credentials_half_written(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    data = {"token": "t" * 4000, "apiUrl": "https://api.example", "caPath": "/x/ca.pem"}
    _write_private(path, data)
    bad: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            text = path.read_text()
            try:
                json.loads(text)
            except ValueError:
                bad.append(text[:40])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for index in range(300):
            _write_private(path, {**data, "round": index})
    finally:
        done.set()
        reader.join()
    assert bad == []
    assert json.loads(path.read_text())["round"] == 299
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.json"]  # no temporary file left
