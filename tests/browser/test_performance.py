"""The portal's first load on a slow phone connection, and the installed app offline
(gateway/static built by scripts/build_assets.mjs; served by gateway/static_files.py;
gateway/static/sw.js and offline.js).

- A logged-in customer's first load of the dashboard (cold cache) on emulated slow 4G (150 ms
  latency, 1.6 Mbit/s down, 750 kbit/s up; Chromium's network emulation over CDP, CPU as it
  is): at most 120 KB transferred and 1.5 s until the dashboard shows the customer's package.
  The figures are printed. No staff page's chunk is fetched; a staff member
  opening the desk fetches it.
- Installable (Chromium's own check of the manifest and service worker). Offline: after a
  load, the page reloaded without a network shows the last dashboard with a
  banner saying it is offline and as of when; back online the banner goes; logging out deletes
  the kept dashboard, and no other API answer is ever kept.
"""

import re
import subprocess
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.helpers import new_account
from tests.browser.test_bills import ADMIN
from tests.browser.test_portal import PASSWORD, TIMEOUT_MS
from tests.stack import ROOT
from tests.waiting import eventually

SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 200_000,
           "uploadThroughput": 93_750}  # bytes per second: 1.6 Mbit/s down, 750 kbit/s up
BUDGET_BYTES = 120 * 1024
BUDGET_MS = 1500
STAFF_CHUNK = re.compile(r"/static/ops-[\w-]+\.js$")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def built(portal_url):
    """The front end built from the sources as they are now, and the gateway serving it (it
    serves the sources instead while any is newer than the build: someone editing them)."""
    for _ in range(3):
        done = subprocess.run(["node", "scripts/build_assets.mjs"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        page = eventually(lambda: requests.get(portal_url + "/", timeout=5).text,
                          until=lambda html: 'name="portal-build"' in html, timeout=5)
        if 'name="portal-build"' in page:
            return portal_url
    pytest.fail("the gateway serves the sources, not the build: a source kept changing")


def customer_with_a_package(base):
    name = f"Pia Phone {uuid.uuid4().hex[:6]}"
    email, client = new_account(base, name, billing="postpaid")
    client.call("POST", "/api/v1/subscriptions", 201, json={"package": "basic"},
                headers={"Idempotency-Key": uuid.uuid4().hex})
    return {"email": email, "name": name}


def logged_in_context(pw_browser, base, email, password=PASSWORD):
    """A fresh context (empty cache) holding a session cookie, logged in through the API."""
    context = pw_browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True,
                                     has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    answer = context.request.post(f"{base}/api/v1/auth/login",
                                  data={"email": email, "password": password})
    assert answer.ok, answer.text()
    return context


class Traffic:
    """Every request the page makes, and the bytes each took on the wire (CDP's
    encodedDataLength: headers and body as transferred, compressed), and the answers' headers."""

    def __init__(self, cdp):
        self.urls = {}
        self.bytes = {}
        self.failed = []
        self.headers = {}
        cdp.on("Network.responseReceived", lambda e: self.headers.__setitem__(
            e["response"]["url"], {k.lower(): v for k, v in e["response"]["headers"].items()}))
        cdp.on("Network.requestWillBeSent",
               lambda e: self.urls.setdefault(e["requestId"], e["request"]["url"]))
        cdp.on("Network.loadingFinished",
               lambda e: self.bytes.__setitem__(e["requestId"], e["encodedDataLength"]))
        cdp.on("Network.loadingFailed", lambda e: self.failed.append(self.urls.get(e["requestId"])))

    @property
    def requests(self):
        return [url for url in self.urls.values() if not url.startswith("data:")]

    @property
    def total(self):
        return sum(self.bytes.values())

    def table(self):
        rows = sorted(((self.bytes.get(rid, 0), url) for rid, url in self.urls.items()),
                      reverse=True)
        return "\n".join(f"  {size / 1024:7.1f} KB  {url}" for size, url in rows)


# The moment (ms since the navigation began) the dashboard shows the customer's name and package.
USEFUL_JS = """
([name, pkg]) => {
  const visible = (el) => el && el.getClientRects().length > 0;
  const greeting = document.querySelector('[data-testid="dashboard-greeting"]');
  const packageName = document.querySelector('[data-testid="dashboard-package-name"]');
  return visible(greeting) && greeting.textContent.includes(name)
    && visible(packageName) && packageName.textContent.trim() === pkg
    ? performance.now() : false;
}
"""


def test_a_customer_s_first_load_on_slow_4g_is_small_and_quick_and_has_no_staff_code(
        pw_browser, built, capsys):
    who = customer_with_a_package(built)
    context = logged_in_context(pw_browser, built, who["email"])
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_4G)
        traffic = Traffic(cdp)

        page.goto(f"{built}/#/dashboard", wait_until="commit")
        useful_ms = page.wait_for_function(USEFUL_JS, arg=[who["name"], "Basic"], polling="raf",
                                           timeout=TIMEOUT_MS).json_value()
        at_useful = (len(traffic.requests), traffic.total)
        page.wait_for_load_state("networkidle")  # and what the page fetches after that
        figures = (f"slow 4G first load of the dashboard: {len(traffic.requests)} requests, "
                   f"{traffic.total / 1024:.1f} KB transferred ({at_useful[0]} requests, "
                   f"{at_useful[1] / 1024:.1f} KB until useful), useful after {useful_ms:.0f} ms")
        with capsys.disabled():
            print(f"\n{figures}\n{traffic.table()}")

        assert not errors, errors
        assert not traffic.failed, traffic.failed
        assert page.locator('meta[name="portal-build"]').count() == 1, "not the built front end"
        assert not [u for u in traffic.requests if STAFF_CHUNK.search(u)], traffic.table()
        # as served: the page revalidated, scripts and styles compressed and cached for good
        assert traffic.headers[f"{built}/"]["cache-control"] == "no-cache"
        assets = {u: h for u, h in traffic.headers.items() if re.search(r"\.(js|css|json)$", u)}
        assert len(assets) >= 4, traffic.headers
        for url, headers in assets.items():
            assert headers["cache-control"] == "public, max-age=31536000, immutable", url
            assert headers.get("content-encoding") in ("br", "gzip"), (url, headers)
            assert "Accept-Encoding" in headers.get("vary", ""), (url, headers)
        assert traffic.total <= BUDGET_BYTES, f"{figures}\n{traffic.table()}"
        assert useful_ms <= BUDGET_MS, f"{figures}\n{traffic.table()}"
    finally:
        context.close()


def test_a_staff_member_s_desk_loads_the_staff_chunk(pw_browser, built):
    context = logged_in_context(pw_browser, built, *ADMIN)
    try:
        page = context.new_page()
        fetched = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(f"{built}/#/ops/support")
        expect(page.get_by_role("heading", level=1)).to_have_text("Support desk")
        staff = [u for u in fetched if STAFF_CHUNK.search(u)]
        assert any("/static/ops-support-" in u for u in staff), fetched
        # the others only when opened
        assert not any("/static/ops-vouchers-" in u for u in staff), staff
    finally:
        context.close()


KEPT_URLS_JS = """
async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) urls.push([name, request.url]);
  }
  return urls;
}
"""


def test_offline_the_app_shows_the_last_dashboard_marked_as_such(make_page, built):
    who = customer_with_a_package(built)
    page = make_page()
    answer = page.context.request.post(f"{built}/api/v1/auth/login",
                                       data={"email": who["email"], "password": PASSWORD})
    assert answer.ok, answer.text()
    page.goto(f"{built}/#/dashboard")
    expect(page.get_by_test_id("dashboard-package-name")).to_have_text("Basic")
    expect(page.get_by_test_id("offline-banner")).to_have_count(0)
    # the service worker has the app shell once it is active
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.active))")
    # installable: Chromium finds nothing missing (but that the test's context is incognito)
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and re.search(r"/static/manifest-\w{8}\.webmanifest$",
                                                  manifest["url"]), manifest
    problems = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [p["errorId"] for p in problems if p["errorId"] != "in-incognito"] == [], problems

    page.context.set_offline(True)
    page.reload()
    banner = page.get_by_test_id("offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(re.compile(r"You are offline\. Shown as of \d{1,2} \w{3} \d{4}, "
                                              r"\d{2}:\d{2}; it may be out of date\."))
    expect(banner.get_by_role("status")).to_have_count(1)
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text(who["name"])
    expect(page.get_by_test_id("dashboard-package-name")).to_have_text("Basic")
    # another page offline says it cannot load, and the banner (about the dashboard) goes
    page.get_by_test_id("nav").get_by_role("link", name="Subscriptions").click()
    expect(page.get_by_test_id("page-error")).to_be_visible()
    expect(banner).to_have_count(0)

    page.context.set_offline(False)
    page.reload()
    expect(page.get_by_test_id("page-subscriptions")).to_be_visible()
    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("dashboard-package-name")).to_have_text("Basic")
    expect(banner).to_have_count(0)

    # Only the public app shell and the one dashboard answer are kept.
    kept = page.evaluate(KEPT_URLS_JS)
    api = [(name, url) for name, url in kept if "/api/" in url]
    assert api == [("portal-dashboard", f"{built}/api/v1/dashboard")], kept
    assert all(re.search(r"/static/|/$", url) for name, url in kept if "/api/" not in url), kept

    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-form")).to_be_visible()
    assert not [url for _, url in page.evaluate(KEPT_URLS_JS) if "/api/" in url]
    # offline after logging out: nothing to show but the login's own error
    page.context.set_offline(True)
    page.goto(f"{built}/#/dashboard")
    expect(page.get_by_test_id("page-error")).to_be_visible()
    expect(page.get_by_test_id("dashboard-greeting")).to_have_count(0)
    page.context.set_offline(False)


def test_the_page_s_api_requests_never_pass_through_the_service_worker(make_page, built):
    """The worker answers for the page and hashed files only: the API stays the page's own, so
    what the page sends and receives is not changed or cached behind its back (and a test's
    interception of the page's requests still applies once the worker controls the page)."""
    who = customer_with_a_package(built)
    page = make_page()
    answer = page.context.request.post(f"{built}/api/v1/auth/login",
                                       data={"email": who["email"], "password": PASSWORD})
    assert answer.ok, answer.text()
    page.goto(f"{built}/#/dashboard")
    expect(page.get_by_test_id("dashboard-package-name")).to_have_text("Basic")
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.active))")

    def renamed(route):
        response = route.fetch()
        body = response.json()
        body["subscriptions"]["data"][0]["package"]["name"] = "Basic (as intercepted)"
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/dashboard", renamed)
    page.reload()
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")  # now it controls
    expect(page.get_by_test_id("dashboard-package-name")).to_have_text("Basic (as intercepted)")
