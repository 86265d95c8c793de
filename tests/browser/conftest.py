"""The browser tier runs in its own pytest process (Playwright hangs under eventlet), against
the whole system started as `make run` starts it."""

import pytest

from tests.stack import Stack


@pytest.fixture(scope="session")
def portal_url(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("browser-stack")).start()
    yield stack.url
    stack.stop()
