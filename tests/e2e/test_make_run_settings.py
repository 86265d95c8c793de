"""`make run` with the README's own settings: `ADMIN_EMAIL=… ADMIN_PASSWORD=… make run` starts,
loads the demo as that admin (not the demo admin), and still needs no secret from the user."""

import json

import requests

from deploy import demo
from tests.stack import Stack

ADMIN = {"email": "owner@example.org", "password": "our own admin passphrase"}


def login(url: str, email: str, password: str) -> requests.Response:
    return requests.post(f"{url}/api/v1/auth/login", timeout=15,
                         json={"email": email, "password": password})


def test_make_run_loads_the_demo_as_the_configured_admin(tmp_path):
    stack = Stack(tmp_path, {"ADMIN_EMAIL": ADMIN["email"],
                             "ADMIN_PASSWORD": ADMIN["password"]}).start()
    try:
        log = stack.log()
        assert f"admin     {ADMIN['email']}" in log and ADMIN["password"] not in log, log
        assert "DEMO_MODE" in log
        # the demo was loaded by this admin: the catalog, the demo customers and the agent exist
        token = login(stack.url, ADMIN["email"], ADMIN["password"])
        assert token.status_code == 200, token.text
        me = requests.get(f"{stack.url}/api/v1/me", timeout=15,
                          headers={"Authorization": f"Bearer {token.json()['token']}"}).json()
        assert me["role"] == "admin"
        assert login(stack.url, demo.AGENT["email"], demo.AGENT["password"]).status_code == 200
        assert login(stack.url, demo.ADMIN["email"], demo.ADMIN["password"]).status_code == 401
        # no secret was given: the runner generated them for this data folder
        secrets = json.loads((stack.data_dir / "demo-secrets.json").read_text())
        assert set(secrets) == {"SECRET_KEY", "VOUCHER_SECRET_KEY"}
    finally:
        assert stack.stop() == 0
