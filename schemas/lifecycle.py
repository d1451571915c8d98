"""A deployment's lifecycle states, as the deployments API, ``mockfleet ls`` and the metrics name them.

The transitions between them are the supervisor's (``supervisor/lifecycle.py``); the names live
here because they cross the API: ``state`` beside the Mockoon app's two-valued ``status``.
"""

from __future__ import annotations

import enum


class DeploymentState(enum.Enum):
    STOPPED = "STOPPED"  # no worker: never started, idle-stopped or reset; the next request wakes it
    STARTING = "STARTING"  # a worker is starting; wakes wait for it
    READY = "RUNNING"  # a worker serves (the value is the app's word for it)
    DRAINING = "DRAINING"  # the worker finishes in-flight requests before it stops
    BACKOFF = "BACKOFF"  # the worker crashed; no start, woken or not, before the delay is over
    FAILED = "FAILED"  # crash loop: nothing starts it again but a re-deploy
    DELETED = "DELETED"


REGISTRY_STATUS = {
    # what the registry keeps (its status strings, unchanged): RUNNING is resumed after a supervisor restart
    DeploymentState.STOPPED: "STOPPED",
    DeploymentState.STARTING: "RUNNING",
    DeploymentState.READY: "RUNNING",
    DeploymentState.DRAINING: "STOPPED",
    DeploymentState.BACKOFF: "RUNNING",
    DeploymentState.FAILED: "FAILED",
    DeploymentState.DELETED: "STOPPED",
}
