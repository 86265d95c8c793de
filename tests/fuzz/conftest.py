"""The fuzzing tier: schemathesis against the whole system started as `make run` starts it
(tests/stack.py), in its own pytest process (no eventlet: schemathesis is plain threads and
requests). `scripts/test.sh` runs it; alone:

    .venv/bin/python -m pytest tests/fuzz -p no:nameko --confcutdir=tests/fuzz -q
"""

import pytest

from tests.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # 127.0.0.1 is a trusted proxy: each role's run sends its own X-Forwarded-For
    stack = Stack(tmp_path_factory.mktemp("fuzz-stack"),
                  {"TRUSTED_PROXIES": "127.0.0.1"}).start()
    yield stack
    stack.stop()
