# The two commands of the README. Everything a fresh machine needs is done by scripts/setup.sh.
.PHONY: run test lint bench screenshots

run:
	@scripts/setup.sh
	@.venv/bin/python -m deploy.run

test:
	@scripts/setup.sh --test
	@scripts/test.sh

lint:
	@.venv/bin/ruff check .

bench:
	@scripts/setup.sh --bench
	@.venv/bin/python tests/perf/bench_gateway.py
	@.venv/bin/python tests/perf/bench_dashboard.py
	@.venv/bin/python tests/perf/bench_topup.py
	@.venv/bin/python tests/perf/bench_vouchers.py
	@.venv/bin/python tests/perf/bench_billing_run.py
	@.venv/bin/python tests/perf/bench_tickets.py
	@.venv/bin/python tests/perf/bench_storage.py
	@.venv/bin/python tests/perf/bench_viewing.py
	@.venv/bin/python tests/perf/bench_ops_insights.py

# docs/screenshots/: the main pages at desktop and phone width, from the demo data
screenshots:
	@scripts/setup.sh --test
	@.venv/bin/python scripts/screenshots.py
