"""The device a sign-in came from, as the customer's session list names it, from real
User-Agent headers."""

import pytest

from services.accounts.devices import device

CASES = [
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/156.0.8078.73 Safari/537.36", "Chrome 156", "Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131", "Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari 18", "iOS"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
     "Firefox 133", "macOS"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet 26",
     "Android"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera 115", "Windows"),
    ("curl/7.88.1", "curl 7", None),
    ("python-requests/2.32.3", None, None),
    ("", None, None),
    (None, None, None),
]


@pytest.mark.parametrize("user_agent, browser, system", CASES)
def test_a_user_agent_names_its_browser_and_system(user_agent, browser, system):
    assert device(user_agent) == {"browser": browser, "os": system}
