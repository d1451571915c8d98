"""Tell the supervisor the worker serves: one ``WorkerReady`` line on stdin, the socket it handed over on.

Called once hypercorn's listener accepts, so the supervisor's wait ends the moment a request can be
served, instead of at its next poll of the socket.
"""

from __future__ import annotations

import os
import sys

from schemas.worker_channel import WorkerReady, encode_ready


def report_ready(socket_path: str) -> bool:
    """False when stdin cannot carry the line (a pipe or a file: not started by a supervisor that listens)."""
    try:
        os.write(0, encode_ready(WorkerReady(pid=os.getpid(), socket=socket_path)))
    except OSError as error:
        print(f"warning: could not report readiness on stdin: {error.strerror}", file=sys.stderr)
        return False
    return True
