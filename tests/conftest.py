"""What is real in these tests, and where it comes from.

- eventlet is monkey-patched before anything imports sockets (nameko needs it; tests hang
  without it). psycopg2 is greened by the same patch.
- RabbitMQ: `AMQP_URI` / `RABBIT_API_URI` (set by `make test` to the local broker); nameko's
  `rabbit_config` fixture makes a fresh vhost per test through the management API. Without them,
  a Docker engine is used through testcontainers; without one, broker tests skip, saying why.
- PostgreSQL: `DATABASE_URL` (set by `make test`); each test that asks gets a fresh database.
  Without it, testcontainers when Docker answers; else those tests skip, saying why.
- unit tests use SQLite in memory and no broker.
"""

import eventlet

eventlet.monkey_patch()  # noqa: E402 - must precede every other import

import os  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402

import pytest  # noqa: E402

warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")

_containers: list = []


def _docker_ok() -> bool:
    try:
        import docker

        return bool(docker.from_env().ping())
    except Exception:  # noqa: BLE001 - no engine, no socket, no library: all mean "no docker"
        return False


def pytest_configure(config):
    if not os.environ.get("AMQP_URI") and _docker_ok():
        from testcontainers.rabbitmq import RabbitMqContainer

        broker = RabbitMqContainer("rabbitmq:3.13-management").with_exposed_ports(5672, 15672)
        broker.start()
        _containers.append(broker)
        host, port = broker.get_container_host_ip(), broker.get_exposed_port(5672)
        api_port = broker.get_exposed_port(15672)
        os.environ["AMQP_URI"] = f"amqp://guest:guest@{host}:{port}/"
        os.environ["RABBIT_API_URI"] = f"http://guest:guest@{host}:{api_port}"
    if os.environ.get("AMQP_URI"):
        config.option.RABBIT_AMQP_URI = os.environ["AMQP_URI"]
    if os.environ.get("RABBIT_API_URI"):
        config.option.RABBIT_API_URI = os.environ["RABBIT_API_URI"]
    if not os.environ.get("DATABASE_URL") and _docker_ok():
        from testcontainers.postgres import PostgresContainer

        pg = PostgresContainer("postgres:16", driver="psycopg2")
        pg.start()
        _containers.append(pg)
        os.environ["DATABASE_URL"] = pg.get_connection_url()


def pytest_unconfigure(config):
    for container in _containers:
        container.stop()


def _broker_reachable() -> bool:
    import socket
    import urllib.parse

    uri = urllib.parse.urlparse(os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((uri.hostname, uri.port or 5672)) == 0


@pytest.fixture(autouse=True)
def _needs_broker(request):
    if "rabbit_config" in request.fixturenames and not _broker_reachable():
        missing("no RabbitMQ: set AMQP_URI/RABBIT_API_URI, or run a Docker engine")


def missing(reason: str) -> None:
    """Skip for lack of a real service, except under `make test` (REQUIRE_REAL_SERVICES=1),
    where a missing broker or database is a failure: nothing important may be skipped."""
    if os.environ.get("REQUIRE_REAL_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def pg_url(new_pg_url):
    """A fresh, empty PostgreSQL database for this test; dropped afterwards."""
    return new_pg_url()


@pytest.fixture
def new_pg_url():
    """Makes fresh, empty PostgreSQL databases (one per service in a test); all dropped after."""
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        missing("no PostgreSQL: set DATABASE_URL, or run a Docker engine")
    import sqlalchemy as sa

    from services.common.db import normalize_url

    admin_url = normalize_url(admin_url)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    names: list[str] = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        names.append(name)
        url = sa.engine.make_url(admin_url).set(database=name)
        return url.render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
