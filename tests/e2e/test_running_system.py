"""The system as a user starts it: `python -m deploy.run` (what `make run` runs), over HTTP."""

import contextlib
import email
import email.header
import os
import pathlib
import re
import sqlite3
import subprocess

import requests

from deploy import run
from tests.integration.conftest import eventually
from tests.stack import ROOT, Stack


def test_the_runner_serves_health_and_ready_within_90_seconds(stack):
    assert stack.started_in < 90
    assert requests.get(f"{stack.url}/health", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{stack.url}/ready", timeout=5).status_code == 200
    assert "The portal is running at" in stack.log() and "prepaid@example.com" in stack.log()


def test_the_portal_front_end_is_served_without_outside_assets(stack):
    page = requests.get(stack.url + "/", timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert not re.search(r"(src|href)=\"https?://", page.text)
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", page.text)
    assert assets
    for asset in assets:
        assert requests.get(stack.url + asset, timeout=5).status_code == 200, asset
    for lang in ("en", "de"):
        assert requests.get(f"{stack.url}/static/i18n/{lang}.json", timeout=5).status_code == 200


def test_the_demo_logins_work(stack):
    from deploy import demo

    for login in [demo.ADMIN, *demo.CUSTOMERS]:
        response = requests.post(f"{stack.url}/api/v1/auth/login", timeout=10,
                                 json={"email": login["email"], "password": login["password"]})
        assert response.status_code == 200, (login["email"], response.text)
    roles = {requests.get(f"{stack.url}/api/v1/me", timeout=5, headers={
        "Authorization": "Bearer " + requests.post(
            f"{stack.url}/api/v1/auth/login", timeout=10,
            json={"email": c["email"], "password": c["password"]}).json()["token"]}
    ).json()["billing_type"] for c in demo.CUSTOMERS}
    assert roles == {"prepaid", "postpaid"}


def readme_tour() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- tour:start -->\s*```bash\n(.*?)```\s*<!-- tour:end -->", text, re.S)
    assert match, "README.md has no curl tour between <!-- tour:start --> and <!-- tour:end -->"
    return match.group(1)


def test_the_readme_curl_tour_works_as_printed(stack):
    script = readme_tour()
    assert "PORTAL=http://127.0.0.1:8000" in script
    script = script.replace("PORTAL=http://127.0.0.1:8000", f"PORTAL={stack.url}")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"billing_type":"prepaid"' in done.stdout
    assert '"status":"changed"' in done.stdout
    assert '"decline_code":"insufficient_funds"' in done.stdout
    assert '"type":"service_charge"' in done.stdout and '"type":"top_up"' in done.stdout
    assert "application/pdf" in done.stdout and "\npaid\n" in done.stdout  # Peter's bill
    assert "serial,code,value,currency,valid_until" in done.stdout
    assert '"code":"VOUCHER_ALREADY_REDEEMED"' in done.stdout
    # insights: Ann's budget answers its state; the demo's viewing makes Peter's first advice
    # the movies add-on he hardly watches
    assert '"state":' in done.stdout and '"use_viewing":false' in done.stdout
    assert "'code': 'unused_addon'" in done.stdout and "'addon': 'Filme & Serien'" in done.stdout
    # the notifier's e-mails reach the local mail catcher `make run` starts (a maildir)
    def mails() -> list[str]:
        return [p.read_text(errors="replace") for p in (stack.data_dir / "mail" / "new").glob("*")]
    eventually(lambda: any("To: ann@example.com" in m for m in mails()), timeout=15, pause=0.3)
    assert any("To: ann@example.com" in m and "Welcome, Ann" in m for m in mails()), mails()[:3]
    # sign-in security and privacy: the reset's answer, the archive's six JSON parts, what
    # stops a deletion, and the reset link and the export's notice by mail
    assert '{"status":"accepted"}' in done.stdout and '"totp":{"enabled":false' in done.stdout
    assert "\n6\n" in done.stdout and "'code': 'WALLET_BALANCE_LEFT'" in done.stdout
    assert "\nbob@example.com\n" in done.stdout  # Ann's household invitation
    def subjects_to_ann() -> list[str]:  # Ann reads German since the tour's profile change
        found = [email.message_from_string(m) for m in mails()]
        return [str(email.header.make_header(email.header.decode_header(m["Subject"])))
                for m in found if m["To"] == "ann@example.com"]
    assert eventually(lambda: {"Passwort zurücksetzen", "Ihre Daten stehen zum Download bereit"}
                      <= set(subjects_to_ann()), timeout=15, pause=0.3), subjects_to_ann()


def test_time_can_be_moved_in_the_running_processes(tmp_path):
    """The test clock crosses process boundaries: 31 idle minutes end a session."""
    offset = tmp_path / "clock-offset"
    # the gateway's auth cache is off: it holds an authentication for real seconds, while this
    # test moves only the services' clock
    stack = Stack(tmp_path, {"TEST_CLOCK_OFFSET_FILE": str(offset),
                             "AUTH_CACHE_SECONDS": "0"}).start()
    try:
        login = requests.post(f"{stack.url}/api/v1/auth/login", timeout=10, json={
            "email": "prepaid@example.com", "password": "prepaid demo passphrase"}).json()
        headers = {"Authorization": f"Bearer {login['token']}"}
        assert requests.get(f"{stack.url}/api/v1/me", headers=headers, timeout=5).ok
        offset.write_text(str(31 * 60))
        expired = requests.get(f"{stack.url}/api/v1/me", headers=headers, timeout=5)
        assert expired.status_code == 401
        assert expired.json()["error"]["code"] == "SESSION_EXPIRED"
    finally:
        stack.stop()


def test_ctrl_c_stops_every_process_the_runner_started(tmp_path):
    stack = Stack(tmp_path).start()
    children = stack.children()
    stopped = stack.stop()  # first: a failed check below must not leave the system running
    # every service, the gateway and the local mail catcher
    assert len(children) == len(run.SERVICES) + 2
    assert stopped == 0

    def alive() -> list[int]:
        found = []
        for pid in children:
            try:
                if "zombie" not in pathlib.Path(f"/proc/{pid}/status").read_text().lower():
                    found.append(pid)
            except FileNotFoundError:  # gone
                pass
        return found
    eventually(lambda: not alive(), timeout=10)
    assert alive() == []
    assert "Stopping" in stack.log()
    assert not os.path.exists(f"/proc/{stack.proc.pid}") or stack.proc.returncode is not None


def outboxes_published(data_dir: pathlib.Path) -> bool:
    """No service's outbox (in its SQLite database) holds an unpublished event."""
    for path in data_dir.rglob("*.db"):
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if "outbox_messages" in tables and db.execute(
                    "SELECT count(*) FROM outbox_messages WHERE published_at IS NULL"
            ).fetchone()[0]:
                return False
    return True


CVC_FIELD = re.compile(rb"""(?i)["']?cvc["']?\s*[:=]""")


def test_no_card_number_or_cvc_is_written_to_any_database_or_log(stack):
    """Cards are added and used (approved, declined) through the running system; then every
    file it wrote (the services' SQLite databases with their WAL files, the sandbox provider's
    store, the logs) is searched for the numbers and for any CVC field."""
    numbers = ["4242424242424242", "4000000000009995", "5555555555554444"]
    email = "cards@example.com"
    requests.post(f"{stack.url}/api/v1/accounts", timeout=10, json={
        "email": email, "password": "a long enough passphrase", "name": "Card Tester",
        "billing_type": "prepaid", "currency": "EUR"}).raise_for_status()
    token = requests.post(f"{stack.url}/api/v1/auth/login", timeout=10, json={
        "email": email, "password": "a long enough passphrase"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for index, number in enumerate(numbers):
        card = requests.post(f"{stack.url}/api/v1/me/payment-methods", headers=headers,
                             timeout=10, json={"number": number, "exp_month": 11,
                                               "exp_year": 2031, "cvc": "913",
                                               "holder": "Card Tester"})
        assert card.status_code == 201, card.text
        top_up = requests.post(f"{stack.url}/api/v1/wallet/top-ups",
                               headers={**headers, "Idempotency-Key": f"top-up-{index}"},
                               timeout=10, json={"amount": {"amount": 1000, "currency": "EUR"},
                                                 "payment_method_id": card.json()["id"]})
        assert top_up.status_code in (201, 402)
    bad = requests.post(f"{stack.url}/api/v1/me/payment-methods", headers=headers, timeout=10,
                        json={"number": "4242424242424241", "exp_month": 11, "exp_year": 2031,
                              "cvc": "913", "holder": "Card Tester"})
    assert bad.status_code == 400 and "4242424242424241" not in bad.text
    # what the system writes afterwards is written before the search: every event is published
    # and the notifier has told the customer of the sign-up and of each top-up
    assert eventually(lambda: outboxes_published(stack.data_dir) and len(requests.get(
        f"{stack.url}/api/v1/notifications", headers=headers, timeout=10).json()["data"]) >=
        1 + len(numbers)), "the events of the sign-up and the top-ups were not all handled"
    files = [p for p in stack.data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any(p.suffix == ".log" for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in [*numbers, "4242424242424241"]:
            assert secret.encode() not in content, f"{secret} found in {path}"
        # a CVC field as any writer would write it (JSON, repr, key=value): the 3 letters alone
        # turn up by chance in a database's binary pages
        assert not CVC_FIELD.search(content), f"a CVC field found in {path}"
