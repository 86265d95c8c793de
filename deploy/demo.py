"""Demo data for `make run`, loaded through the public API like any client would: the IPTV
demo catalog (`demo_catalog.json`), a prepaid and a postpaid customer with a subscription each,
today's billing run (so the postpaid customer has a bill), six weeks of what the customers
watched (reported to insights by RPC, as the TV platform would), and support: an agent, teams,
routing rules, an escalation policy, an incident rule and FAQ entries.

Safe to run again: what exists already is left as it is.
"""

from __future__ import annotations

import json
import pathlib
import time

import requests

from services.catalog import seed
from services.common import errors

CATALOG_FILE = pathlib.Path(__file__).with_name("demo_catalog.json")

# The demo admin `make run` creates unless ADMIN_EMAIL / ADMIN_PASSWORD are set. Its password is
# published here: the services refuse it outside DEMO_MODE (services/common/config.py).
ADMIN = {"email": "admin@example.com", "password": "portal admin demo passphrase"}
CUSTOMERS = [
    {"email": "prepaid@example.com", "password": "prepaid demo passphrase",
     "name": "Paula Prepaid", "billing_type": "prepaid", "currency": "EUR", "language": "en",
     "phone": "+49 30 1234567",
     "address": {"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115",
                 "country": "DE"}},
    {"email": "postpaid@example.com", "password": "postpaid demo passphrase",
     "name": "Peter Postpaid", "billing_type": "postpaid", "currency": "EUR", "language": "de",
     "address": {"line1": "Ringstraße 5", "city": "München", "postal_code": "80331",
                 "country": "DE"}},
]

AGENT = {"email": "agent@example.com", "password": "portal agent demo passphrase",
         "name": "Alex Agent", "billing_type": "postpaid", "currency": "EUR", "language": "en"}
# every team's tickets, the desk's configuration, approvals and incident credits
SUPERVISOR = {"email": "supervisor@example.com", "password": "portal supervisor demo passphrase",
              "name": "Sam Supervisor", "billing_type": "postpaid", "currency": "EUR",
              "language": "en"}

SUBSCRIPTIONS = {"prepaid@example.com": {"package": "family", "addons": ["sports"]},
                 "postpaid@example.com": {"package": "premium", "addons": ["movies"],
                                          "devices": [{"code": "stb-4k",
                                                       "acquisition": "rental"}]}}


class CatalogOverHttp:
    """The catalog's ops verbs through the gateway's /api/v1/ops/catalog endpoints."""

    def __init__(self, base_url: str, token: str) -> None:
        self.url = f"{base_url}/api/v1/ops/catalog"
        self.headers = {"Authorization": f"Bearer {token}"}

    def _send(self, method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(method, self.url + path, json=body, headers=self.headers,
                                    timeout=30)
        if response.status_code == 404:
            raise errors.NotFound(response.json()["error"]["message"])
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def ops_get(self, kind: str, code: str) -> dict:
        return self._send("GET", f"/{kind}/{code}")

    def ops_create(self, kind: str, entry: dict) -> dict:
        return self._send("POST", f"/{kind}", entry)

    def ops_update(self, kind: str, code: str, changes: dict) -> dict:
        return self._send("PATCH", f"/{kind}/{code}", changes)


def login(base_url: str, email: str, password: str) -> str:
    response = requests.post(f"{base_url}/api/v1/auth/login", timeout=30,
                             json={"email": email, "password": password})
    response.raise_for_status()
    return response.json()["token"]


def admin_login(base_url: str, admin: dict) -> str:
    """The admin's token; a clear error if the configured admin cannot log in."""
    response = requests.post(f"{base_url}/api/v1/auth/login", timeout=30,
                             json={"email": admin["email"], "password": admin["password"]})
    if response.status_code == 401:
        raise RuntimeError(
            f"the demo cannot log in as the admin {admin['email']} with ADMIN_PASSWORD. If this "
            f"data folder holds an admin made earlier with another password, use that password "
            f"or a fresh DATA_DIR.")
    response.raise_for_status()
    return response.json()["token"]


DEMO_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123",
             "holder": "Paula Prepaid"}


def _fund(base_url: str, headers: dict) -> None:
    """A sandbox card and a 50.00 top-up, so the prepaid demo can pay for its subscription."""
    card = requests.post(f"{base_url}/api/v1/me/payment-methods", json=DEMO_CARD,
                         headers=headers, timeout=30)
    card.raise_for_status()
    top_up = requests.post(f"{base_url}/api/v1/wallet/top-ups", timeout=30,
                           headers={**headers, "Idempotency-Key": "demo-first-top-up"},
                           json={"amount": {"amount": 5000, "currency": "EUR"},
                                 "payment_method_id": card.json()["id"]})
    top_up.raise_for_status()


def load_catalog(base_url: str, admin: dict = ADMIN) -> dict:
    token = admin_login(base_url, admin)
    return seed.load(CatalogOverHttp(base_url, token), json.loads(CATALOG_FILE.read_text()))


VOUCHER_OFFERS = [
    {"code": "topup-10", "name": "10 € top-up voucher",
     "value": {"amount": 1000, "currency": "EUR"}, "price": {"amount": 1000, "currency": "EUR"},
     "translations": {"de": {"name": "Aufladegutschein über 10 €"},
                      "it": {"name": "Voucher di ricarica da 10 €"},
                      "th": {"name": "บัตรเติมเงิน 10 €"}}},
    {"code": "topup-25", "name": "25 € top-up voucher",
     "value": {"amount": 2500, "currency": "EUR"}, "price": {"amount": 2500, "currency": "EUR"},
     "translations": {"de": {"name": "Aufladegutschein über 25 €"},
                      "it": {"name": "Voucher di ricarica da 25 €"},
                      "th": {"name": "บัตรเติมเงิน 25 €"}}},
    {"code": "topup-50", "name": "50 € top-up voucher, 5 % off",
     "value": {"amount": 5000, "currency": "EUR"}, "price": {"amount": 4750, "currency": "EUR"},
     "translations": {"de": {"name": "Aufladegutschein über 50 €, 5 % günstiger"},
                      "it": {"name": "Voucher di ricarica da 50 €, sconto del 5 %"},
                      "th": {"name": "บัตรเติมเงิน 50 € ลด 5%"}}},
]


def load_voucher_offers(base_url: str, admin: dict = ADMIN) -> None:
    headers = {"Authorization": "Bearer " + admin_login(base_url, admin)}
    for offer in VOUCHER_OFFERS:
        made = requests.post(f"{base_url}/api/v1/ops/voucher-offers", headers=headers, json=offer,
                             timeout=30)
        if made.status_code not in (201, 409):
            raise RuntimeError(f"demo voucher offer failed: {made.text}")


def load(base_url: str, admin: dict = ADMIN) -> list[dict]:
    """Create the demo catalog, customers and subscriptions as `admin` (the admin the services
    were started with: ADMIN_EMAIL / ADMIN_PASSWORD); returns the logins to print."""
    load_catalog(base_url, admin)
    load_voucher_offers(base_url, admin)
    logins = [{"role": "admin", "email": admin["email"], "password": admin["password"]}]
    for customer in CUSTOMERS:
        response = requests.post(f"{base_url}/api/v1/accounts", json=customer, timeout=30)
        if response.status_code not in (201, 409):
            raise RuntimeError(f"demo sign-up failed: {response.status_code} {response.text}")
        logins.append({"role": customer["billing_type"], "email": customer["email"],
                       "password": customer["password"]})
        headers = {"Authorization": "Bearer " + login(base_url, customer["email"],
                                                      customer["password"])}
        existing = requests.get(f"{base_url}/api/v1/subscriptions", headers=headers, timeout=30)
        existing.raise_for_status()
        if customer["billing_type"] == "prepaid" and not existing.json()["data"]:
            _fund(base_url, headers)
        if not existing.json()["data"]:
            created = requests.post(f"{base_url}/api/v1/subscriptions", headers=headers,
                                    json=SUBSCRIPTIONS[customer["email"]], timeout=30)
            if created.status_code != 201:
                raise RuntimeError(f"demo subscription failed: {created.text}")
    _bill_today(base_url, admin)
    load_support(base_url, admin)
    logins.append({"role": "agent", "email": AGENT["email"], "password": AGENT["password"]})
    logins.append({"role": "supervisor", "email": SUPERVISOR["email"],
                   "password": SUPERVISOR["password"]})
    return logins


# What the demo customers watch each day (minutes), reported as the TV platform would: Paula
# watches her Family channels and never the sports she pays for; Peter watches news,
# documentaries and hardly any of his movies add-on. Their recommendations come from this.
VIEWING = {
    "prepaid@example.com": {"Docu World": 45, "Nature HD": 30, "Drama Channel": 60,
                            "News 24": 25, "Kids Club HD": 50, "Toon Time HD": 40,
                            "Family Movies": 35},
    "postpaid@example.com": {"News 24": 40, "World News HD": 30, "Docu World": 55,
                             "History One": 35, "Series One": 45, "Business Today HD": 20},
}
VIEWING_DAYS = 42
VIEWING_ONCE = {"postpaid@example.com": ("Cinema 1 HD", 40)}  # one film, weeks ago


def viewing_batches(customer_ids: dict[str, str], today) -> list[tuple[str, list[dict]]]:
    """The demo's viewing as the TV platform reports it: one batch per customer and day, its id
    naming both, so loading the demo again (another day, a restart) adds only the new days."""
    import datetime as dt

    batches = []
    for email, channels in VIEWING.items():
        customer = customer_ids[email]
        for back in range(VIEWING_DAYS, 0, -1):
            day = today - dt.timedelta(days=back)
            # a plausible week: more on weekends, a little less mid-week
            factor = 1.5 if day.weekday() >= 5 else 0.8 if day.weekday() == 2 else 1.0
            records = [{"customer_id": customer, "channel": channel, "day": day.isoformat(),
                        "minutes": int(minutes * factor)} for channel, minutes in channels.items()]
            once = VIEWING_ONCE.get(email)
            if once and back == VIEWING_DAYS // 2:
                records.append({"customer_id": customer, "channel": once[0],
                                "day": day.isoformat(), "minutes": once[1]})
            batches.append((f"demo:{customer}:{day.isoformat()}", records))
    return batches


def load_viewing(base_url: str, amqp_uri: str) -> None:
    """Report the demo customers' viewing to the insights service by RPC, as an integrator
    would (README: "Viewing data, for integrators"). The demo customers agreed to its use in
    Settings first (it is opt-in), and to promotions."""
    import datetime as dt

    from nameko.standalone.rpc import ClusterRpcProxy

    ids = {}
    for customer in CUSTOMERS:
        token = login(base_url, customer["email"], customer["password"])
        headers = {"Authorization": f"Bearer {token}"}
        me = requests.get(f"{base_url}/api/v1/me", headers=headers, timeout=30)
        me.raise_for_status()
        ids[customer["email"]] = me.json()["id"]
        for purpose in ("viewing_recommendations", "promotions"):
            requests.put(f"{base_url}/api/v1/me/consents/{purpose}", headers=headers,
                         json={"granted": True}, timeout=30).raise_for_status()
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=60) as cluster:
        for batch_id, records in viewing_batches(ids, dt.datetime.now(dt.UTC).date()):
            cluster.insights.report_viewing(batch_id, records)


def _bill_today(base_url: str, admin: dict = ADMIN) -> None:
    """Today's billing run, so the postpaid customer has a bill to look at (a run exists once
    per date: on a restart this answers the run made before)."""
    headers = {"Authorization": "Bearer " + admin_login(base_url, admin)}
    started = requests.post(f"{base_url}/api/v1/ops/billing-runs", headers=headers, json={},
                            timeout=30)
    if started.status_code != 202:
        raise RuntimeError(f"demo billing run failed: {started.text}")
    run, deadline = started.json(), time.monotonic() + 30
    while run["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        run = requests.get(f"{base_url}/api/v1/ops/billing-runs/{run['id']}", headers=headers,
                           timeout=30).json()


TEAMS = [{"name": "support", "description": "First line: anything not routed elsewhere."},
         {"name": "network", "description": "Network operations: outages, picture, signal."},
         {"name": "billing", "description": "Bills, payments, wallet and vouchers."}]
FAQ = [
    {"category": "billing", "language": "en", "question": "When is my invoice issued?",
     "answer": "Invoices are issued the day after your billing period ends and are due 14 days "
               "later. You find them under Bills, with a PDF for each."},
    {"category": "billing", "language": "en", "question": "How do I turn on autopay?",
     "answer": "Under Bills, switch on autopay and pick a card: new invoices are paid on issue."},
    {"category": "billing", "language": "de", "question": "Wann wird meine Rechnung erstellt?",
     "answer": "Rechnungen entstehen am Tag nach dem Ende Ihres Abrechnungszeitraums und sind "
               "14 Tage später fällig. Sie finden sie unter Rechnungen, jeweils als PDF."},
    {"category": "service_interruption", "language": "en",
     "question": "I have no picture. What can I try first?",
     "answer": "Restart the set-top box (unplug it for 10 seconds) and check the cable to the "
               "router. If the picture does not come back, raise a service interruption."},
    {"category": "general", "language": "en", "question": "How do I change my package?",
     "answer": "Open My services, choose the subscription and Change package: you see the price "
               "difference before you confirm."},
]

# what agents insert into a reply (the desk offers those of the ticket's category, or of any
# category, in the customer's language)
CANNED_REPLIES = [
    {"title": "Greeting", "language": "en", "category": None,
     "body": "Hello,\n\nthank you for getting in touch. "},
    {"title": "Begrüßung", "language": "de", "category": None,
     "body": "Guten Tag,\n\nvielen Dank für Ihre Nachricht. "},
    {"title": "Charged twice: we are checking", "language": "en", "category": "billing",
     "body": "We are checking your charges and payments for the period you mention. If you "
             "were charged twice, we refund the second charge to the way you paid within 5 "
             "working days."},
    {"title": "Doppelt belastet: wir prüfen", "language": "de", "category": "billing",
     "body": "Wir prüfen Ihre Belastungen und Zahlungen für den genannten Zeitraum. Falls Sie "
             "doppelt belastet wurden, erstatten wir die zweite Belastung innerhalb von 5 "
             "Werktagen auf dem Weg, auf dem Sie bezahlt haben."},
    {"title": "Outage: restart the box", "language": "en", "category": "service_interruption",
     "body": "Please restart your set-top box (unplug it for 10 seconds). If the picture does "
             "not come back within a few minutes, reply here and we send a technician."},
    {"title": "Störung: Box neu starten", "language": "de", "category": "service_interruption",
     "body": "Bitte starten Sie Ihre Set-Top-Box neu (10 Sekunden vom Strom trennen). Kommt "
             "das Bild nach einigen Minuten nicht zurück, antworten Sie hier und wir schicken "
             "einen Techniker."},
]



def _ops(base_url: str, token: str, method: str, path: str, body=None,
         ok=(200, 201, 204)) -> requests.Response:
    response = requests.request(method, f"{base_url}/api/v1/ops{path}", json=body, timeout=30,
                                headers={"Authorization": f"Bearer {token}"})
    if response.status_code not in ok:
        raise RuntimeError(f"demo {method} {path}: {response.status_code} {response.text}")
    return response


def load_support(base_url: str, admin: dict = ADMIN) -> None:
    """An agent in team `support` and a supervisor; teams support, network and billing;
    routing (billing questions → billing, service interruptions → network, the rest → support)
    with an
    escalation policy; service interruptions in one region within 30 minutes are one
    incident; a few FAQ entries and canned replies (en, de). Left as it is when it exists."""
    token = admin_login(base_url, admin)
    signed = requests.post(f"{base_url}/api/v1/accounts", json=AGENT, timeout=30)
    if signed.status_code not in (201, 409):
        raise RuntimeError(f"demo agent sign-up failed: {signed.text}")
    agent = requests.get(f"{base_url}/api/v1/me", timeout=30, headers={
        "Authorization": "Bearer " + login(base_url, AGENT["email"], AGENT["password"])}).json()
    if agent["role"] != "agent":
        _ops(base_url, token, "PATCH", f"/customers/{agent['id']}",
             {"role": "agent", "teams": ["support"]})
    signed = requests.post(f"{base_url}/api/v1/accounts", json=SUPERVISOR, timeout=30)
    if signed.status_code not in (201, 409):
        raise RuntimeError(f"demo supervisor sign-up failed: {signed.text}")
    supervisor = requests.get(f"{base_url}/api/v1/me", timeout=30, headers={
        "Authorization": "Bearer " + login(base_url, SUPERVISOR["email"],
                                           SUPERVISOR["password"])}).json()
    if supervisor["role"] != "supervisor":
        _ops(base_url, token, "PATCH", f"/customers/{supervisor['id']}", {"role": "supervisor"})
    existing = {t["name"] for t in _ops(base_url, token, "GET", "/teams").json()["data"]}
    for team in TEAMS:
        if team["name"] not in existing:
            members = [agent["id"]] if team["name"] == "support" else []
            _ops(base_url, token, "POST", "/teams", {**team, "members": members,
                                                     "channels": [{"type": "bus"}]})
    if not _ops(base_url, token, "GET", "/routing-rules").json()["data"]:
        policy = _ops(base_url, token, "POST", "/escalation-policies", {
            "name": "Standard", "repeat": 1,
            "steps": [{"delay_minutes": 15, "target": {"type": "team", "team": "support"}},
                      {"delay_minutes": 30, "target": {"type": "lead"}}]}).json()
        rules = [("billing", "billing", None), ("service_interruption", "network", "P2")]
        for position, (category, team, priority) in enumerate(rules, start=1):
            _ops(base_url, token, "POST", "/routing-rules", {
                "position": position * 10, "team": team, "priority": priority,
                "escalation_policy": policy["id"],
                "description": f"{category} tickets to {team}",
                "match": [{"field": "category", "op": "=", "value": category}]})
        _ops(base_url, token, "PUT", "/routing-rules/default",
             {"team": "support", "escalation_policy": policy["id"]})
    if not _ops(base_url, token, "GET", "/incident-rules").json()["data"]:
        _ops(base_url, token, "POST", "/incident-rules", {
            "name": "Service interruption", "group_by": ["region"], "window_minutes": 30,
            "match": [{"field": "category", "op": "=", "value": "service_interruption"}]})
    if not _ops(base_url, token, "GET", "/faq").json()["data"]:
        for entry in FAQ:
            _ops(base_url, token, "POST", "/faq", entry)
    if not _ops(base_url, token, "GET", "/canned-replies?limit=1").json()["data"]:
        for reply in CANNED_REPLIES:
            _ops(base_url, token, "POST", "/canned-replies", reply)
