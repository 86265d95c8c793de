"""The faults the chaos tier injects, and what it needs to watch them: a PostgreSQL that can be
made to refuse connections, a webhook receiver for the alert channel, the local broker's
restart."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests import waiting


class FlakyPostgres:
    """A TCP proxy in front of PostgreSQL. `outage(seconds)` cuts every open connection and
    refuses new ones (accepts and closes them at once, as a server that is going down) for
    `seconds`: what a database restart or a failover looks like to the services."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.cut = 0
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                # an outage may have begun while this connection was being made: checked
                # again under the lock the outage takes, or it would survive the outage
                if self.refusing:
                    self.refused += 1
                    client.close()
                    upstream.close()
                    continue
                self.open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                with self.lock:
                    self.open.discard(sock)

    def outage(self, noticed, timeout: float = 30.0) -> float:
        """Cut and refuse until `noticed()` (every service saw its database go), then serve
        again; returns how long the outage lasted."""
        began = time.monotonic()
        with self.lock:  # no connection is added between these two lines (see _accept)
            self.refusing = True
            victims = list(self.open)
        self.cut += len(victims) // 2
        for sock in victims:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        try:
            eventually(noticed, timeout, "every service noticing the database outage")
        finally:
            self.refusing = False
        return time.monotonic() - began

    def close(self) -> None:
        self.listener.close()


class AlertReceiver:
    """The support team's webhook channel: keeps every POST's dedup key and alert."""

    def __init__(self) -> None:
        received: list[dict] = []
        self.received = received
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    received.append({"key": self.headers.get("X-Portal-Dedup-Key"),
                                     "body": json.loads(body or b"{}")})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys_by_ticket(self) -> dict[str, set[str]]:
        keys: dict[str, set[str]] = {}
        for item in list(self.received):
            dedup = (item["body"].get("alert") or {}).get("dedup_key") or ""
            if dedup.startswith("ticket:"):
                keys.setdefault(dedup.split(":")[1], set()).add(item["key"])
        return keys

    def close(self) -> None:
        self.server.shutdown()


def restart_broker(noticed, timeout: float = 60.0) -> tuple[float, float]:
    """Stop the local RabbitMQ application (the node stays, its queues' data too), wait until
    `noticed()` (every process lost its connection), start it again: returns (when it went
    down, when it was back), monotonic."""
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    down = time.monotonic()
    try:
        eventually(noticed, timeout, "every process noticing the broker's outage")
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True,
                       timeout=120)
    return down, time.monotonic()


def eventually(check, timeout: float, what: str, interval: float = 0.2):
    """`check()`'s first true answer within `timeout` (a request that fails is a false one),
    else AssertionError saying `what`: tests/waiting.py's one way of waiting, for this tier
    whose clients meet a system that is failing on purpose."""
    last = waiting.eventually(check, timeout, interval, tolerate=(requests.RequestException,))
    if not last or isinstance(last, Exception):
        raise AssertionError(f"{what}: not within {timeout:.0f}s (last: {last!r})")
    return last
