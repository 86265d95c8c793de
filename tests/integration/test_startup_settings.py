"""Services started as a deployment starts them (`nameko run --config deploy/config.yaml`, on the
real RabbitMQ) refuse a published default secret or password, or a missing one, outside
DEMO_MODE, naming the setting; with proper settings (or in DEMO_MODE) they start and answer.
And the compose file's database layout, run for real: deploy/postgres-init.sql on a private
PostgreSQL cluster, every service migrating its own database as its own role."""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from deploy import demo
from services.accounts.service import AccountsService
from services.billing.service import BillingService
from services.catalog.service import CatalogService
from services.common.db import normalize_url
from services.insights.service import InsightsService
from services.notifier.service import NotifierService
from services.tickets.service import TicketsService
from services.vouchers.service import VouchersService
from tests.conftest import missing
from tests.integration.conftest import eventually
from tests.stack import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAMEKO = pathlib.Path(sys.executable).with_name("nameko")
GOOD_SECRET = "T4vQ9mXc2LpW7zRk1NbY6sHd3JfG8aEu0o"
SERVICES = {"accounts": AccountsService, "billing": BillingService, "catalog": CatalogService,
            "vouchers": VouchersService, "tickets": TicketsService, "notifier": NotifierService,
            "insights": InsightsService}


def run_service(module: str, amqp_uri: str, data_dir: pathlib.Path, **settings: str):
    """`nameko run` of one service with only these settings (nothing inherited that matters)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data_dir),
           "AMQP_URI": amqp_uri, "DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
           "PSYCOPG_WAIT_FUNC": "wait_select", **settings}
    return subprocess.Popen([str(NAMEKO), "run", "--config", str(ROOT / "deploy" / "config.yaml"),
                             f"services.{module}.service"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def refusal(proc: subprocess.Popen) -> str:
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"the service started instead of refusing:\n{output[-2000:]}")
    assert proc.returncode != 0, output[-2000:]
    return output


@pytest.mark.parametrize("module, settings, named", [
    ("vouchers", {"VOUCHER_SECRET_KEY": "dev-only-voucher-secret"},
     "Refusing to start: VOUCHER_SECRET_KEY is a default published with the code"),
    ("vouchers", {}, "Refusing to start: VOUCHER_SECRET_KEY is not set"),
    ("vouchers", {"VOUCHER_SECRET_KEY": "0123456789"},
     "Refusing to start: VOUCHER_SECRET_KEY is shorter than 32 characters"),
    ("billing", {"SECRET_KEY": "dev-only-change-me"},
     "Refusing to start: SECRET_KEY is a default published with the code"),
    ("billing", {}, "Refusing to start: SECRET_KEY is not set"),
    ("accounts", {"ADMIN_EMAIL": demo.ADMIN["email"], "ADMIN_PASSWORD": demo.ADMIN["password"]},
     "Refusing to start: ADMIN_PASSWORD is a password published with the code"),
    ("accounts", {"ADMIN_EMAIL": "ops@example.org"},
     "Refusing to start: ADMIN_PASSWORD is not set but ADMIN_EMAIL is"),
])
def test_a_service_refuses_to_start_with_a_known_or_missing_secret(
        module, settings, named, rabbit_config, tmp_path):
    output = refusal(run_service(module, rabbit_config["AMQP_URI"], tmp_path, **settings))
    assert named in output, output[-2000:]


def answers(proc: subprocess.Popen, service: str, rabbit_config: dict) -> dict:
    """The service's health over RPC once it consumes; fails if the process exits first."""
    try:
        with ClusterRpcProxy({"AMQP_URI": rabbit_config["AMQP_URI"]}, timeout=2) as rpc:
            def health():
                if proc.poll() is not None:
                    pytest.fail(f"{service} exited:\n{proc.stdout.read()[-2000:]}")
                try:
                    return getattr(rpc, service).health()
                except Exception:  # noqa: BLE001 - not consuming yet: the call times out
                    return None
            answer = eventually(health, timeout=60)
            assert answer, f"{service} did not answer within 60 s"
            return answer
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_with_proper_settings_the_same_services_start(rabbit_config, tmp_path):
    vouchers = run_service("vouchers", rabbit_config["AMQP_URI"], tmp_path,
                           VOUCHER_SECRET_KEY=GOOD_SECRET)
    assert answers(vouchers, "vouchers", rabbit_config)["service"] == "vouchers"
    accounts = run_service("accounts", rabbit_config["AMQP_URI"], tmp_path,
                           ADMIN_EMAIL="ops@example.org", ADMIN_PASSWORD="our own passphrase")
    assert answers(accounts, "accounts", rabbit_config)["service"] == "accounts"


def test_demo_mode_accepts_the_demo_admin(rabbit_config, tmp_path):
    accounts = run_service("accounts", rabbit_config["AMQP_URI"], tmp_path, DEMO_MODE="true",
                           ADMIN_EMAIL=demo.ADMIN["email"], ADMIN_PASSWORD=demo.ADMIN["password"])
    assert answers(accounts, "accounts", rabbit_config)["service"] == "accounts"


# the compose file's databases ----------------------------------------------------------------

def pg_bin(name: str) -> str:
    found = sorted(pathlib.Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    if shutil.which(name):
        return shutil.which(name)
    missing(f"no PostgreSQL server binaries ({name}): install the `postgresql` package")
    return ""


@pytest.fixture
def private_cluster():
    """A throw-away PostgreSQL cluster (password logins over TCP), as the postgres image makes
    one: the init script creates roles and databases, which a shared server must not get."""
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb: not root
    base = pathlib.Path(tempfile.mkdtemp(prefix="portal-pg-"))
    if as_user:
        shutil.chown(base, "postgres")
    port = free_port()
    subprocess.run([*as_user, pg_bin("initdb"), "-D", str(base / "data"), "-U", "postgres",
                    "--auth-local=trust", "--auth-host=scram-sha-256"], check=True,
                   capture_output=True)
    # the server's output to a file: a pipe would stay open as long as the server runs
    subprocess.run([*as_user, pg_bin("pg_ctl"), "-D", str(base / "data"), "-w", "-l",
                    str(base / "server.log"), "-o",
                    f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield {"socket_dir": str(base), "port": port}
    finally:
        subprocess.run([*as_user, pg_bin("pg_ctl"), "-D", str(base / "data"), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_each_service_runs_as_its_own_database_role(private_cluster, rabbit_config,
                                                    runner_factory, tmp_path):
    passwords = {name: f"{name}-role-password-{n}" for n, name in enumerate(SERVICES)}
    env = {**os.environ, **{f"{name.upper()}_DB_PASSWORD": pw for name, pw in passwords.items()}}
    subprocess.run(["psql", "-h", private_cluster["socket_dir"], "-p",
                    str(private_cluster["port"]), "-U", "postgres", "-d", "postgres", "-f",
                    str(ROOT / "deploy" / "postgres-init.sql")], check=True, env=env,
                   capture_output=True)

    def url(role: str, database: str) -> str:
        return (f"postgresql://{role}:{passwords[role]}@127.0.0.1:{private_cluster['port']}/"
                f"{database}")

    # every service creates and migrates its own tables as its own role
    config = {**rabbit_config, "DEMO_MODE": False, "SECRET_KEY": GOOD_SECRET,
              "VOUCHER_SECRET_KEY": GOOD_SECRET,
              "DATABASE_URLS": {name: url(name, name) for name in SERVICES},
              "BILLING_TIMER_SECONDS": 3600, "DATA_DIR": str(tmp_path),
              "PAYMENT_SANDBOX_URL": f"sqlite:///{tmp_path}/sandbox.db"}
    runner = runner_factory(config, *SERVICES.values())
    runner.start()
    with ClusterRpcProxy(config, timeout=10) as rpc:
        for name in SERVICES:
            assert getattr(rpc, name).health()["database"] == "ok", name
    for name in SERVICES:
        engine = sa.create_engine(normalize_url(url(name, name)), poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT current_user")) == name
            assert not conn.scalar(sa.text(
                "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles "
                "WHERE rolname = current_user"))
            tables = conn.scalar(sa.text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND tableowner = current_user"))
            assert tables > 0, name
    # and reaches no other service's database
    other = sa.create_engine(normalize_url(url("accounts", "billing")),
                             poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.OperationalError, match="permission denied for database"):
        other.connect()
