#!/usr/bin/env bash
# The whole test suite, as `make test` runs it: lint, then the unit, integration and end-to-end
# tiers in one pytest process, then the browser, fuzzing and chaos tiers each in its own
# process (Playwright hangs inside an eventlet-patched process; schemathesis needs none; the
# chaos tier restarts the local broker, so it runs alone, last).
# Exits non-zero if anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."

export AMQP_URI=${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}
export RABBIT_API_URI=${RABBIT_API_URI:-http://guest:guest@127.0.0.1:15672}
export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
export REQUIRE_REAL_SERVICES=1  # a missing broker or database fails the run instead of skipping

status=0
echo "== ruff"
.venv/bin/ruff check . || status=1
echo "== unit, integration, end to end"
.venv/bin/python -m pytest tests/unit tests/integration tests/e2e \
  --amqp-uri "$AMQP_URI" --rabbit-ctl-uri "$RABBIT_API_URI" "$@" || status=1
echo "== browser"
.venv/bin/python -m pytest tests/browser -p no:nameko --confcutdir=tests/browser "$@" || status=1
echo "== fuzzing (schemathesis on /api/v1/openapi.json as customer, agent and admin; ~3.5 min)"
.venv/bin/python -m pytest tests/fuzz -p no:nameko --confcutdir=tests/fuzz "$@" || status=1
echo "== chaos (2 processes per service on PostgreSQL; SIGKILLs, a broker restart, a database outage under load; ~2.5 min)"
.venv/bin/python -m pytest tests/chaos -p no:nameko --confcutdir=tests/chaos -s "$@" || status=1
[ "$status" = 0 ] && echo "ALL TESTS PASSED" || echo "SOME TESTS FAILED"
exit "$status"
