#!/usr/bin/env bash
# Prepares this machine for `make run` (and, with --test, for `make test`):
#   - the virtual environment in .venv with the pinned dependencies (re-installed when
#     pyproject.toml changes), and the front-end tools in node_modules (package-lock.json);
#   - RabbitMQ reachable, started if installed and down, with the management plugin enabled
#     (the tests create a vhost per test through it);
#   - with --test: PostgreSQL reachable (started if down), Debian's Chromium for the browser
#     tests, poppler's pdftotext for the PDF tests and Prometheus' promtool for the alert rules;
#   - with --bench (`make bench`): all of --test, and the load client wrk and the py-spy
#     sampling profiler the benchmarks use.
# Missing system packages are installed with apt-get when running as root; otherwise the
# script says exactly what to install. It is safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_bench=0
[ "${1:-}" = "--test" ] && want_test=1
[ "${1:-}" = "--bench" ] && want_test=1 && want_bench=1
PYTHON=${PYTHON:-python3}

say() { printf '[setup] %s\n' "$*" >&2; }

port_open() {  # host port
  "$PYTHON" - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PY
}

wait_port() {  # host port seconds what
  local i
  for ((i = 0; i < $3 * 2; i++)); do
    port_open "$1" "$2" && return 0
    sleep 0.5
  done
  say "$4 did not come up on $1:$2 within $3 s"
  return 1
}

apt_install() {  # package...
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $* with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
  else
    say "missing: $*. Install it (Debian/Ubuntu: sudo apt-get install $*) and run again."
    exit 1
  fi
}

# 1. Python environment
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing Python dependencies (pinned in pyproject.toml)"
  # (pip's warnings about this machine's unused local index folders are filtered out)
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 \
    | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
  [ "${PIPESTATUS[0]}" = 0 ] || { say "pip install failed"; exit 1; }
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# 1b. Front-end tools from npm (package-lock.json): esbuild bundles gateway/static for the
#     gateway, axe-core checks accessibility in the browser tests
command -v npm >/dev/null || apt_install nodejs npm
npm_stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$npm_stamp" ]; then
  say "installing front-end tools with npm (pinned in package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 \
    || { say "npm ci failed; run: npm ci"; exit 1; }
  touch "$npm_stamp"
fi

# 1c. The portal front end, built into gateway/static/dist, which the gateway serves
#     (scripts/build_assets.mjs: esbuild bundles, hashes and compresses it; it does nothing when
#     gateway/static has not changed since the last build)
node scripts/build_assets.mjs >&2 || { say "building the front end failed: node scripts/build_assets.mjs"; exit 1; }

# 2. RabbitMQ (only when the broker is meant to be local)
amqp_host=$(.venv/bin/python -c "import os,urllib.parse as u;print(u.urlparse(os.environ.get('AMQP_URI','amqp://guest:guest@127.0.0.1:5672/')).hostname)")
if [[ "$amqp_host" == "127.0.0.1" || "$amqp_host" == "localhost" ]]; then
  if ! port_open 127.0.0.1 5672; then
    command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
    say "starting rabbitmq-server"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_port 127.0.0.1 5672 90 RabbitMQ
  fi
  if ! port_open 127.0.0.1 15672; then
    say "enabling the RabbitMQ management plugin"
    rabbitmq-plugins enable rabbitmq_management >/dev/null
    wait_port 127.0.0.1 15672 60 "RabbitMQ management"
  fi
fi

# 3. Test-only: PostgreSQL and Chromium
if [ "$want_test" = 1 ]; then
  if ! port_open 127.0.0.1 5432; then
    if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    wait_port 127.0.0.1 5432 60 PostgreSQL
  fi
  [ -x /usr/bin/chromium ] || apt_install chromium
  command -v pdftotext >/dev/null || apt_install poppler-utils  # the PDF tests read the text
  # Prometheus' promtool checks deploy/observability/alerts.yaml (the package's server is not
  # started)
  command -v promtool >/dev/null || apt_install --no-install-recommends prometheus
fi
if [ "$want_bench" = 1 ]; then
  command -v wrk >/dev/null || apt_install wrk
  [ -x .venv/bin/py-spy ] || .venv/bin/pip install -q --disable-pip-version-check \
    -e '.[test,bench]' 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
fi
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_install fonts-dejavu-core
[ -f /usr/share/fonts/truetype/tlwg/Loma.ttf ] || apt_install fonts-thai-tlwg  # Thai in the PDFs
exit 0
