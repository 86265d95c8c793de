#!/usr/bin/env python3
"""Screenshots of the portal's main pages for docs/screenshots/ (`make screenshots`).

Starts the whole system as `make run` does (demo data, a fresh data folder and RabbitMQ vhost),
then in Debian's Chromium takes each page at desktop (1280 px) and phone (390 px) width, as the
demo's prepaid customer (English), postpaid customer (German) and agent. Writes JPEGs and
docs/screenshots/README.md, which lists them; README.md links that page.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

from playwright.sync_api import expect, sync_playwright

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy import demo  # noqa: E402 - after the path is set
from tests.stack import Stack  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
PREPAID, POSTPAID = demo.CUSTOMERS
# (file name, who, route, what to wait for, caption)
SHOTS = [
    ("dashboard", PREPAID, "dashboard", "page-dashboard",
     "Prepaid dashboard: what happens next, services, wallet, requests"),
    ("subscriptions", PREPAID, "subscriptions", "page-subscriptions",
     "Services: the subscription, changes the rules allow, the catalog with VAT"),
    ("wallet", PREPAID, "wallet", "page-wallet", "Wallet: top up by card or voucher, history"),
    ("vouchers", PREPAID, "vouchers", "page-vouchers", "Vouchers: redeem, buy, history"),
    ("support", PREPAID, "support", "page-support", "Support: FAQ, raise a request"),
    ("settings", PREPAID, "settings", "page-settings",
     "Settings: profile, password, cards, notifications"),
    ("dashboard-de", POSTPAID, "dashboard", "page-dashboard",
     "Postpaid dashboard in German: amount due, autopay"),
    ("bills-de", POSTPAID, "bills", "page-bills", "Bills in German: invoices, autopay"),
    ("insights", PREPAID, "insights", "page-insights",
     "Insights: spending by month, the budget, advice from what is watched and paid"),
    ("insights-de", POSTPAID, "insights", "page-insights",
     "Insights in German: the movies add-on hardly watched, what removing it saves"),
    ("desk", demo.AGENT, "ops/support", "page-ops-support", "The agents' desk"),
    ("ops-insights", demo.ADMIN, "ops/insights", "page-ops-insights",
     "The business in figures (admins): subscribers by package, churn, revenue, tickets"),
]


def log_in(page, base: str, who: dict) -> None:
    page.goto(f"{base}/#/login")
    form = page.get_by_test_id("login-form")
    form.locator('input[name="email"]').fill(who["email"])
    form.locator('input[name="password"]').fill(who["password"])
    form.locator('input[name="password"]').press("Enter")
    page.wait_for_url(lambda url: "#/login" not in url)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    out = pathlib.Path(parser.parse_args(argv).out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(pathlib.Path(tmp)).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                             headless=True, args=CHROMIUM_ARGS)
                lines = []
                for name, who, route, ready, caption in SHOTS:
                    row = []
                    for form, (width, height) in WIDTHS.items():
                        context = browser.new_context(viewport={"width": width,
                                                                "height": height},
                                                      reduced_motion="reduce")
                        page = context.new_page()
                        log_in(page, stack.url, who)
                        page.goto(f"{stack.url}/#/{route}")
                        main_ = page.locator("main")
                        expect(main_).not_to_have_attribute("aria-busy", "true", timeout=20000)
                        if ready:
                            expect(page.get_by_test_id(ready)).to_be_visible(timeout=20000)
                        page.wait_for_load_state("networkidle")
                        if form == "desktop":  # the whole page is shot: charts drawn as they
                            # come near the screen are brought near it first
                            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                            expect(page.locator('figure[data-chart="pending"]')).to_have_count(
                                0, timeout=20000)
                            page.evaluate("window.scrollTo(0, 0)")
                        page.evaluate("document.activeElement && document.activeElement.blur()")
                        file = out / f"{name}-{form}.jpg"
                        page.screenshot(path=str(file), type="jpeg", quality=70,
                                        full_page=form == "desktop")
                        row.append(f"![{caption} ({form})]({file.name})")
                        context.close()
                        print(f"[screenshots] {file}")
                    lines.append(f"### {caption}\n\n" + " ".join(row) + "\n")
                browser.close()
        finally:
            stack.stop()
    (out / "README.md").write_text(
        "# The portal, page by page\n\n"
        "Made by `make screenshots` (scripts/screenshots.py) from the demo data: desktop "
        "(1280 px) and phone (390 px) widths. The prepaid customer reads English, the "
        "postpaid one German.\n\n" + "\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
