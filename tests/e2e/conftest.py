import pytest

from tests.stack import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The whole system as `make run` starts it (SQLite default, demo data), once per module."""
    stack = Stack(tmp_path_factory.mktemp("stack")).start()
    yield stack
    stack.stop()
