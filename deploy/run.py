"""The local runner behind `make run`: every service as its own `nameko run` process, plus the
gateway; waits until /ready is green, loads demo data, prints the portal's address and the demo
logins. Ctrl-C (or SIGTERM) stops every process it started. Logs go to $DATA_DIR/logs/.

It runs a demo: it sets DEMO_MODE=true (unless DEMO_MODE is set) and supplies what a real
deployment must provide itself, unless set in the environment: the demo admin (its password is
published), and SECRET_KEY and VOUCHER_SECRET_KEY generated once per data folder
($DATA_DIR/demo-secrets.json, so vouchers made before a restart still redeem). With
DEMO_MODE=false it supplies nothing, and the services check the settings as in production.

    python -m deploy.run [--no-demo]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import requests

from deploy import demo

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "config.yaml"
# Every service that is built; each runs as its own process. The gateway starts last.
SERVICES = ["services.accounts.service", "services.catalog.service",
            "services.billing.service", "services.vouchers.service",
            "services.tickets.service", "services.notifier.service"]
GATEWAY = "gateway.service"
READY_TIMEOUT = 90.0


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Runner:
    def __init__(self, env: dict, log_dir: pathlib.Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, module: str) -> None:
        name = module.split(".")[-2] if module != GATEWAY else "gateway"
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        nameko = pathlib.Path(sys.executable).with_name("nameko")
        self.procs[name] = subprocess.Popen(
            [str(nameko), "run", "--config", str(CONFIG), module], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_mail_catcher(self, host: str, port: int, mail_dir: pathlib.Path) -> None:
        """A local SMTP server that files every mail in `mail_dir` (a maildir), so the
        notifier's e-mails can be read without a mail relay."""
        log = open(self.log_dir / "mail.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.procs["mail"] = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{host}:{port}", "-c",
             "aiosmtpd.handlers.Mailbox", str(mail_dir)], cwd=ROOT, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def tail(self, name: str, lines: int = 30) -> str:
        text = (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def broker_in_use(amqp_uri: str) -> bool:
    """True if the accounts service already consumes on this broker vhost: another portal runs
    there, and two systems on one vhost would answer each other's calls."""
    uri = urllib.parse.urlparse(amqp_uri)
    vhost = urllib.parse.quote(uri.path[1:] or "/", safe="")
    try:
        response = requests.get(f"http://{uri.hostname}:15672/api/queues/{vhost}/rpc-accounts",
                                auth=(uri.username or "guest", uri.password or "guest"),
                                timeout=3)
    except requests.RequestException:
        return False  # no management API: cannot tell
    return response.status_code == 200 and response.json().get("consumers", 0) > 0


def wait_ready(base_url: str, runner: Runner) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        dead = runner.dead()
        if dead:
            raise RuntimeError(f"{dead[0]} exited during start-up:\n{runner.tail(dead[0])}")
        try:
            response = requests.get(f"{base_url}/ready", timeout=3)
            if response.status_code == 200:
                return
            last = response.text
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"not ready after {READY_TIMEOUT:.0f}s: {last}")


DEMO_SECRETS_FILE = "demo-secrets.json"
GENERATED_SECRETS = ("SECRET_KEY", "VOUCHER_SECRET_KEY")


def demo_settings(env: dict, data_dir: pathlib.Path) -> list[str]:
    """Fill in, in `env`, what a demo needs and the user did not set (see the module's doc);
    returns lines to print about it. Nothing is filled in when DEMO_MODE is set to false."""
    env.setdefault("DEMO_MODE", "true")
    if env["DEMO_MODE"].strip().lower() not in {"1", "true", "yes", "on"}:
        return []
    notes = ["DEMO_MODE: published demo credentials are accepted; never expose this system."]
    missing = [name for name in GENERATED_SECRETS if not env.get(name)]
    if missing:
        path = data_dir / DEMO_SECRETS_FILE
        stored = json.loads(path.read_text()) if path.exists() else {}
        for name in missing:
            if name not in stored:
                stored[name] = secrets.token_urlsafe(32)
            env[name] = stored[name]
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(stored, indent=2) + "\n")
        notes.append(f"Demo secrets ({', '.join(missing)}) generated in {path}")
    if not env.get("ADMIN_EMAIL") and not env.get("ADMIN_PASSWORD"):
        env["ADMIN_EMAIL"], env["ADMIN_PASSWORD"] = demo.ADMIN["email"], demo.ADMIN["password"]
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-demo", action="store_true", help="do not load demo data")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env.setdefault("DATA_DIR", str(ROOT / "var"))
    notes = demo_settings(env, pathlib.Path(env["DATA_DIR"]))
    admin = {"email": env.get("ADMIN_EMAIL") or "", "password": env.get("ADMIN_PASSWORD") or ""}
    host, port = env.setdefault("GATEWAY_HOST", "127.0.0.1"), int(env.setdefault("GATEWAY_PORT",
                                                                                "8000"))
    base_url = f"http://{host}:{port}"
    env.setdefault("PUBLIC_URL", base_url)
    env.setdefault("WEBHOOK_ALLOWED_HOSTS", "127.0.0.0/8,::1,localhost")  # local receivers
    env["PYTHONUNBUFFERED"] = "1"
    log_dir = pathlib.Path(env["DATA_DIR"]) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    if not port_free(host, port):
        print(f"Port {port} on {host} is in use (another `make run`?). Stop that process or "
              f"set GATEWAY_PORT, e.g. GATEWAY_PORT=8001 make run", file=sys.stderr)
        return 1

    amqp_uri = env.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    if broker_in_use(amqp_uri):
        print(f"Another portal is already running on {amqp_uri.split('@')[-1]} (its services "
              f"would answer this one's calls). Stop it, or give this one its own vhost: "
              f"rabbitmqctl add_vhost dev2 && rabbitmqctl set_permissions -p dev2 guest "
              f"'.*' '.*' '.*' && AMQP_URI=amqp://guest:guest@127.0.0.1:5672/dev2 make run",
              file=sys.stderr)
        return 1
    runner = Runner(env, log_dir)
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        smtp_host = env.get("SMTP_HOST", "127.0.0.1")
        smtp_port = int(env.get("SMTP_PORT", "1025"))
        mail_dir = pathlib.Path(env["DATA_DIR"]) / "mail"
        if smtp_host in ("127.0.0.1", "localhost") and port_free(smtp_host, smtp_port):
            runner.start_mail_catcher(smtp_host, smtp_port, mail_dir)
            print(f"E-mails go to a local catcher: {mail_dir} (a maildir)", flush=True)
        for note in notes:
            print(note, flush=True)
        print(f"Starting {len(SERVICES)} service(s) and the gateway; logs in {log_dir}", flush=True)
        for module in [*SERVICES, GATEWAY]:
            runner.start(module)
        wait_ready(base_url, runner)
        if args.no_demo:
            logins = []
        elif not (admin["email"] and admin["password"]):
            raise RuntimeError("the demo data is loaded as the admin: set ADMIN_EMAIL and "
                               "ADMIN_PASSWORD, or run with --no-demo")
        else:
            logins = demo.load(base_url, admin)
        print(f"\nThe portal is running at {base_url}/", flush=True)
        print(f"API: {base_url}/api/v1/openapi.json   readiness: {base_url}/ready")
        for login in logins:
            shown = login["password"]
            if login["role"] == "admin" and shown != demo.ADMIN["password"]:
                shown = "(your ADMIN_PASSWORD)"
            print(f"  {login['role']:<9} {login['email']:<24} password: {shown}")
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping:
            dead = runner.dead()
            if dead:
                print(f"{dead[0]} stopped unexpectedly:\n{runner.tail(dead[0])}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:
        print(f"Start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping…", flush=True)
        runner.stop()


if __name__ == "__main__":
    sys.exit(main())
