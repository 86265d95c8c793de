"""The local runner behind `make run`: every service as its own `nameko run` process, plus the
gateway; waits until /ready is green, loads demo data, prints the portal's address and the demo
logins. Ctrl-C (or SIGTERM) stops every process it started. Logs go to $DATA_DIR/logs/.

A process that dies is started again (after 1 s, doubling to 30 s while it keeps dying), and the
runner says so with the end of its log: one crash is never the whole system's outage.
$DATA_DIR/processes.json lists the running processes (name → pid).

Scaling out as a cluster would, on one machine: `REPLICAS=2 DATABASE=postgres make run` runs
two processes of every service (competing consumers on the same queues) and of the gateway (on
GATEWAY_PORT and the ports after it), each service with its own PostgreSQL database
(`<DATABASE_PREFIX>_<service>`, default prefix `portal`, made if missing on the server of
DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres). Several processes need
PostgreSQL: the SQLite default is for one. With HEALTH_PORT=9100 every service process serves
/health/live, /health/ready and /metrics on 9100, 9101, … (printed at start).

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
from dataclasses import dataclass

import requests

from deploy import demo

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "config.yaml"
# Every service that is built; each runs as its own process. The gateway starts last.
SERVICES = ["services.accounts.service", "services.catalog.service",
            "services.billing.service", "services.vouchers.service",
            "services.tickets.service", "services.notifier.service",
            "services.insights.service"]
GATEWAY = "gateway.service"
READY_TIMEOUT = 90.0
RESTART_FIRST_SECONDS, RESTART_MAX_SECONDS = 1.0, 30.0
STABLE_SECONDS = 60.0  # a process that ran this long before dying restarts at once again


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class Process:
    """One process the runner keeps running: `argv` with `env`, logged to `log`."""

    name: str
    argv: list[str]
    env: dict
    log: pathlib.Path
    popen: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    restart_at: float | None = None  # when a dead process is due to start again
    delay: float = RESTART_FIRST_SECONDS


class Runner:
    def __init__(self, env: dict, log_dir: pathlib.Path, replicas: int = 1) -> None:
        self.env = env
        self.log_dir = log_dir
        self.replicas = replicas
        self.procs: dict[str, Process] = {}
        self.health_ports: dict[str, int] = {}

    def start(self, module: str) -> None:
        base = module.split(".")[-2] if module != GATEWAY else "gateway"
        nameko = pathlib.Path(sys.executable).with_name("nameko")
        for index in range(1, self.replicas + 1):
            name = base if self.replicas == 1 else f"{base}-{index}"
            env = dict(self.env)
            if module == GATEWAY:
                env["GATEWAY_PORT"] = str(int(self.env["GATEWAY_PORT"]) + index - 1)
            elif self.env.get("HEALTH_PORT"):
                port = int(self.env["HEALTH_PORT"]) + len(self.health_ports)
                env["HEALTH_PORT"] = str(port)
                self.health_ports[name] = port
            self.launch(Process(name, [str(nameko), "run", "--config", str(CONFIG), module],
                                env, self.log_dir / f"{name}.log"))

    def start_mail_catcher(self, host: str, port: int, mail_dir: pathlib.Path) -> None:
        """A local SMTP server that files every mail in `mail_dir` (a maildir), so the
        notifier's e-mails can be read without a mail relay."""
        self.launch(Process("mail", [sys.executable, "-m", "aiosmtpd", "-n", "-l",
                                     f"{host}:{port}", "-c", "aiosmtpd.handlers.Mailbox",
                                     str(mail_dir)], self.env, self.log_dir / "mail.log"))

    def launch(self, proc: Process) -> None:
        log = open(proc.log, "ab")  # noqa: SIM115 - lives as long as the process
        proc.popen = subprocess.Popen(proc.argv, cwd=ROOT, env=proc.env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        log.close()  # the child has its own copy
        proc.started, proc.restart_at = time.monotonic(), None
        self.procs[proc.name] = proc
        self.write_pids()

    def write_pids(self) -> None:
        pids = {name: p.popen.pid for name, p in self.procs.items()
                if p.popen is not None and p.popen.poll() is None}
        # written aside and renamed: a reader (a script, the chaos tier) never sees half a file
        path = self.log_dir.parent / "processes.json"
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(pids, indent=2) + "\n")
        partial.replace(path)

    def dead(self) -> list[str]:
        return [name for name, p in self.procs.items()
                if p.popen is not None and p.popen.poll() is not None]

    def supervise(self) -> list[str]:
        """Restart what died (with backoff); lines to print about it."""
        now, notes = time.monotonic(), []
        for name, proc in self.procs.items():
            if proc.popen is None or proc.popen.poll() is None:
                continue
            if proc.restart_at is None:
                if now - proc.started > STABLE_SECONDS:
                    proc.delay = RESTART_FIRST_SECONDS
                proc.restart_at = now + proc.delay
                notes.append(f"{name} exited (code {proc.popen.returncode}); starting it again "
                             f"in {proc.delay:.0f}s. The end of {proc.log}:\n"
                             f"{self.tail(name, 15)}")
                proc.delay = min(proc.delay * 2, RESTART_MAX_SECONDS)
            elif now >= proc.restart_at:
                proc.restarts += 1
                self.launch(proc)
                notes.append(f"{name} started again (restart {proc.restarts}, pid "
                             f"{proc.popen.pid})")
        return notes

    def stop(self) -> None:
        running = [p.popen for p in self.procs.values() if p.popen is not None]
        for popen in running:
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for popen in running:
            try:
                popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait()

    def tail(self, name: str, lines: int = 30) -> str:
        text = self.procs[name].log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def postgres_databases(env: dict) -> list[str]:
    """DATABASE=postgres: every service's database URL, on the server of DATABASE_URL, its
    database made if missing; lines to print about it."""
    import psycopg2  # only this option needs it

    server = env.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    prefix = env.get("DATABASE_PREFIX") or "portal"
    parsed = urllib.parse.urlparse(server)
    connection = psycopg2.connect(server)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for module in SERVICES:
                service = module.split(".")[-2]
                name = f"{prefix}_{service}"
                key = f"{service.upper()}_DATABASE_URL"
                if env.get(key):
                    continue
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
                env[key] = urllib.parse.urlunparse(parsed._replace(path="/" + name))
    finally:
        connection.close()
    return [f"Databases: PostgreSQL {parsed.hostname}:{parsed.port or 5432}, "
            f"{prefix}_<service>"]


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


def management_api(amqp_uri: str) -> tuple[str, tuple[str, str], str]:
    uri = urllib.parse.urlparse(amqp_uri)
    vhost = urllib.parse.quote(uri.path[1:] or "/", safe="")
    return (f"http://{uri.hostname}:15672/api", (uri.username or "guest",
                                                 uri.password or "guest"), vhost)


def migrate_classic_queues(amqp_uri: str) -> list[str]:
    """The services declare their queues as quorum queues; RabbitMQ refuses to redeclare a
    classic queue left by an earlier version under another type. Empty ones are deleted here
    (the services declare them again); one that still holds messages stops the start with
    what to do (docs/deployment.md, "Migrating from classic queues")."""
    api, auth, vhost = management_api(amqp_uri)
    try:
        response = requests.get(f"{api}/queues/{vhost}", auth=auth, timeout=5,
                                params={"columns": "name,type,durable,messages"})
        response.raise_for_status()
    except requests.RequestException:
        return []  # no management API: the services' declarations will say it
    old = [q for q in response.json() if q.get("durable") and q.get("type") == "classic"
           and (q["name"].startswith("rpc-") or q["name"].startswith("evt-"))]
    full = [q["name"] for q in old if q.get("messages")]
    if full:
        raise RuntimeError(
            f"classic queues from an earlier version still hold messages: {', '.join(full)}. "
            "Run the earlier version until they are empty (or move the messages), then start "
            "again; see docs/deployment.md, \"Migrating from classic queues\"")
    for queue in old:
        name = urllib.parse.quote(queue["name"], safe="")
        requests.delete(f"{api}/queues/{vhost}/{name}", auth=auth, timeout=5,
                        params={"if-empty": "true"}).raise_for_status()
    return [f"Replaced {len(old)} empty classic queue(s) of an earlier version by quorum "
            f"queues"] if old else []


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
    replicas = int(env.get("REPLICAS") or 1)
    database = (env.get("DATABASE") or "sqlite").lower()
    if database not in ("sqlite", "postgres"):
        print(f"DATABASE is sqlite (the default) or postgres, not {database!r}", file=sys.stderr)
        return 1
    if replicas > 1 and database != "postgres":
        print("Several processes per service need PostgreSQL: REPLICAS=2 DATABASE=postgres "
              "make run", file=sys.stderr)
        return 1
    try:
        if database == "postgres":
            notes.extend(postgres_databases(env))
        notes.extend(migrate_classic_queues(amqp_uri))
    except Exception as exc:  # noqa: BLE001 - any failure here stops the start with its reason
        print(f"Start-up failed: {exc}", file=sys.stderr)
        return 1
    runner = Runner(env, log_dir, replicas)
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
        each = f" ({replicas} processes each)" if replicas > 1 else ""
        print(f"Starting {len(SERVICES)} service(s) and the gateway{each}; logs in {log_dir}",
              flush=True)
        for module in [*SERVICES, GATEWAY]:
            runner.start(module)
        if runner.health_ports:
            print("Health and metrics: " + ", ".join(
                f"{name} :{port}" for name, port in runner.health_ports.items()), flush=True)
        wait_ready(base_url, runner)
        if args.no_demo:
            logins = []
        elif not (admin["email"] and admin["password"]):
            raise RuntimeError("the demo data is loaded as the admin: set ADMIN_EMAIL and "
                               "ADMIN_PASSWORD, or run with --no-demo")
        else:
            logins = demo.load(base_url, admin)
            demo.load_viewing(base_url, amqp_uri)
        print(f"\nThe portal is running at {base_url}/", flush=True)
        print(f"API: {base_url}/api/v1/openapi.json   readiness: {base_url}/ready")
        for login in logins:
            shown = login["password"]
            if login["role"] == "admin" and shown != demo.ADMIN["password"]:
                shown = "(your ADMIN_PASSWORD)"
            print(f"  {login['role']:<9} {login['email']:<24} password: {shown}")
        if replicas > 1:
            print(f"  gateways on ports {port}…{port + replicas - 1}")
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping:
            for note in runner.supervise():
                print(note, file=sys.stderr, flush=True)
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
