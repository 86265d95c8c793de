"""Liveness, readiness (the broker and every service answer) and metrics."""

from __future__ import annotations

import time

from werkzeug.wrappers import Response

from gateway import metrics
from gateway.http import Call, Reply
from services.common import errors

READY_DEADLINE_SECONDS = 2.0


def ready(gw, call: Call) -> Reply:
    until = time.monotonic() + READY_DEADLINE_SECONDS
    states, pending = {}, {}
    for name, proxy in gw.backends().items():
        try:
            pending[name] = proxy.start("health")
        except errors.ServiceUnavailable:
            states[name] = "unavailable"
    for name, call_ in pending.items():
        try:
            call_.wait(until)
            states[name] = "ok"
        except errors.ServiceUnavailable:
            states[name] = "unavailable"
        except Exception:  # noqa: BLE001 - a failing health check is a not-ready service
            states[name] = "failing"
    ok = all(state == "ok" for state in states.values())
    return Reply({"status": "ready" if ok else "not_ready", "services": states},
                 status=200 if ok else 503)


def prometheus(gw, call: Call) -> Response:
    body, content_type = metrics.exposition()
    return Response(body, mimetype=None, content_type=content_type)
