"""The fuzzing tier: schemathesis against the whole system started as `make run` starts it
(tests/stack.py), in its own pytest process (no eventlet: schemathesis is plain threads and
requests). `scripts/test.sh` runs it; alone:

    .venv/bin/python -m pytest tests/fuzz -p no:nameko --confcutdir=tests/fuzz -q
"""

import pytest

from tests.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("fuzz-stack")).start()
    yield stack
    stack.stop()
