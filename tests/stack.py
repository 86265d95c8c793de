"""Start the whole system the way a user does (`python -m deploy.run`), for the end-to-end and
browser tiers: a fresh data folder, a fresh RabbitMQ vhost, a free port. Plain Python (no
eventlet), so the browser tier can use it in its own process."""

from __future__ import annotations

import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOYMENT_SETTINGS = {"DEMO_MODE", "SECRET_KEY", "VOUCHER_SECRET_KEY", "ADMIN_EMAIL",
                       "ADMIN_PASSWORD"}


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def management_uri() -> str:
    return os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_range(count: int) -> int:
    """The first of `count` consecutive free ports, below Linux's ephemeral range (32768 and
    up), where the system's own outgoing connections cannot take one of them meanwhile."""
    for _ in range(50):
        base = random.randint(20000, 32000 - count)
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


def create_vhost(name: str) -> str:
    """A fresh vhost through the management API; returns its AMQP URI."""
    api = urllib.parse.urlparse(management_uri())
    base = f"{api.scheme}://{api.hostname}:{api.port}/api"
    auth = (api.username or "guest", api.password or "guest")
    requests.put(f"{base}/vhosts/{name}", auth=auth, timeout=10).raise_for_status()
    requests.put(f"{base}/permissions/{name}/{auth[0]}", auth=auth, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    parsed = urllib.parse.urlparse(amqp_uri())
    return urllib.parse.urlunparse(parsed._replace(path="/" + name))


def delete_vhost(name: str) -> None:
    api = urllib.parse.urlparse(management_uri())
    base = f"{api.scheme}://{api.hostname}:{api.port}/api"
    requests.delete(f"{base}/vhosts/{name}", auth=(api.username, api.password), timeout=10)


class Stack:
    """`python -m deploy.run` in a subprocess; `url` once it printed its address."""

    def __init__(self, tmp: pathlib.Path, extra_env: dict | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.args = args
        self.vhost = f"e2e-{uuid.uuid4().hex[:10]}"
        # REPLICAS gateways listen on GATEWAY_PORT and the ports after it: all of them free
        replicas = int((extra_env or {}).get("REPLICAS", 1))
        self.port = free_port() if replicas == 1 else free_port_range(replicas)
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = tmp / "var"
        self.output = tmp / "run.out"
        # `make run` needs no settings: none of those a deployment must provide is inherited
        env = {k: v for k, v in os.environ.items()
               if not k.endswith("_DATABASE_URL") and k not in DEPLOYMENT_SETTINGS}
        env.update({"AMQP_URI": create_vhost(self.vhost), "GATEWAY_PORT": str(self.port),
                    "DATA_DIR": str(self.data_dir), "PUBLIC_URL": self.url,
                    "OUTBOX_POLL_SECONDS": "0.2", "SMTP_PORT": str(free_port()),
                    "SIGNUP_LIMIT_PER_HOUR": "0",  # tests sign many customers up from here
                    **(extra_env or {})})
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.started_in: float | None = None

    def start(self, timeout: float = 90) -> Stack:
        began = time.monotonic()
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "deploy.run", *self.args], cwd=ROOT,
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        while time.monotonic() - began < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"deploy.run exited:\n{self.log()}")
            if "The portal is running at" in self.log():
                self.started_in = time.monotonic() - began
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the stack did not start within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def children(self) -> list[int]:
        """The service processes the runner started."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True, check=False)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # what Ctrl-C does
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        delete_vhost(self.vhost)
        return self.proc.returncode
