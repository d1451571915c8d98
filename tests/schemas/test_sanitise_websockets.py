"""WebSocket routes are served: the cloud sanitiser has nothing to say about them."""

from __future__ import annotations

import json

from schemas import decode_environment
from schemas.sanitise import sanitise_for_cloud
from tests.worker.ws_envs import ws_environment


def test_ws_routes_raise_no_cloud_warning() -> None:
    env, _ = decode_environment(json.dumps(ws_environment()).encode())
    sanitised, warnings = sanitise_for_cloud(env)
    assert warnings == []
    assert [r.type for r in sanitised.routes].count("ws") == 5
