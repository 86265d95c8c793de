"""The portal in Italian and Thai: a customer who picks Italian at sign-up and one whose account
is in Thai see the dashboard and the navigation in their language (html lang set, money in the
locale's format), every language picker offers all four languages in their own names, and Thai
navigation labels wrap between words, never inside one, at desktop and phone widths."""

import re

from playwright.sync_api import expect

from tests.browser.helpers import log_in_as, new_account
from tests.browser.test_portal import PASSWORD, unique_email

OWN_NAMES = ["English", "Deutsch", "Italiano", "ไทย"]

# Words of the navigation's labels (the menu, and the phone's tab bar where there is one) that a
# line break cuts (Intl.Segmenter finds the words, as the browser's line breaker does for Thai,
# which has no spaces), and labels wider than their link (clipped). The menu must be open (phone)
# for its links to have boxes.
NAV_WRAPPING_JS = """
(lang) => {
  const segmenter = new Intl.Segmenter(lang, { granularity: 'word' });
  const links = [...document.querySelectorAll(
    '[data-testid="nav"] .nav-list a, [data-testid="tab-bar"] a')];
  const broken = [];
  const clipped = [];
  for (const link of links) {
    if (link.scrollWidth > link.clientWidth + 1) clipped.push(link.textContent);
    const walker = document.createTreeWalker(link, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const part of segmenter.segment(node.data)) {
        if (!part.isWordLike) continue;
        const range = document.createRange();
        range.setStart(node, part.index);
        range.setEnd(node, part.index + part.segment.length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(`${link.textContent}: ${part.segment}`);
      }
    }
  }
  return { links: links.map((a) => a.textContent), broken, clipped };
}
"""


def _pickers_offer_every_language(options):
    expect(options).to_have_text(OWN_NAMES)
    assert [o.get_attribute("value") for o in options.all()] == ["en", "de", "it", "th"]
    # each name is read in its own language (WCAG 3.1.2)
    assert [o.get_attribute("lang") for o in options.all()] == ["en", "de", "it", "th"]


def _nav_wraps_between_words(page, lang, where):
    result = page.evaluate(NAV_WRAPPING_JS, lang)
    assert len(result["links"]) >= 6, f"{where}: {result}"
    assert result["broken"] == [], f"{where}: words broken across lines: {result['broken']}"
    assert result["clipped"] == [], f"{where}: labels wider than their link: {result['clipped']}"


def test_a_customer_who_picks_italian_sees_the_portal_in_italian(make_page, portal_url):
    page = make_page()
    page.goto(f"{portal_url}/#/signup")
    switcher = page.get_by_test_id("language-switcher")
    expect(switcher.get_by_role("button")).to_have_text(OWN_NAMES)
    expect(page.get_by_test_id("language-th")).to_have_attribute("lang", "th")
    page.get_by_test_id("language-it").click()
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.get_by_test_id("language-it")).to_have_attribute("aria-pressed", "true")

    form = page.get_by_test_id("signup-form")
    expect(page.get_by_role("heading", level=1)).to_have_text("Crea il suo account")
    _pickers_offer_every_language(form.get_by_label("Lingua").locator("option"))
    expect(form.get_by_label("Lingua")).to_have_value("it")  # the language being shown
    form.get_by_label("E-mail", exact=True).fill(unique_email())
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Nome", exact=True).fill("Giulia Rossi")
    form.get_by_label(re.compile("^Prepagato")).check()
    form.get_by_label("Valuta").select_option("EUR")
    form.get_by_role("button", name="Crea account").click()

    expect(page).to_have_url(re.compile(r"#/dashboard$"))
    expect(page.get_by_test_id("dashboard-greeting")).to_have_text("Buongiorno, Giulia Rossi!")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    nav = page.get_by_test_id("nav")
    for name in ("Panoramica", "Abbonamenti", "Credito", "Voucher", "Assistenza", "Notifiche",
                 "Impostazioni"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_test_id("logout")).to_have_text("Esci")
    expect(page.get_by_test_id("dashboard-balance")).to_have_text(re.compile(r"^0,00\s€$"))
    _nav_wraps_between_words(page, "it", "Italian, desktop")

    # The choice is the account's: it stays after a reload, and Settings shows it.
    page.reload()
    expect(page.get_by_test_id("nav").get_by_role("link", name="Impostazioni")).to_be_visible()
    page.get_by_test_id("nav").get_by_role("link", name="Impostazioni").click()
    profile = page.get_by_test_id("settings-profile-form")
    expect(profile.get_by_label("Lingua")).to_have_value("it")
    _pickers_offer_every_language(profile.get_by_label("Lingua").locator("option"))


def test_a_customer_whose_account_is_in_thai_sees_the_portal_in_thai(make_page, portal_url):
    email, _ = new_account(portal_url, "Somchai Dee", language="th")
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": "Somchai Dee"})
    expect(page.get_by_test_id("dashboard-greeting")).to_have_text("สวัสดี คุณSomchai Dee")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    nav = page.get_by_test_id("nav")
    for name in ("หน้าหลัก", "บริการของฉัน", "กระเป๋าเงิน", "บัตรเติมเงิน", "ช่วยเหลือ",
                 "การแจ้งเตือน", "ตั้งค่า"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_test_id("logout")).to_have_text("ออกจากระบบ")
    expect(page.get_by_test_id("dashboard-balance")).to_have_text("€0.00")
    _nav_wraps_between_words(page, "th", "Thai, desktop")

    nav.get_by_role("link", name="ตั้งค่า").click()
    profile = page.get_by_test_id("settings-profile-form")
    expect(profile.get_by_label("ภาษา")).to_have_value("th")
    _pickers_offer_every_language(profile.get_by_label("ภาษา").locator("option"))

    # On a phone the menu opens with its Thai name, and its labels wrap between words.
    phone = make_page(width=375, height=740)
    log_in_as(phone, portal_url, {"email": email, "name": "Somchai Dee"})
    menu = phone.get_by_test_id("nav-toggle")
    expect(menu).to_contain_text("เมนู")
    menu.click()
    expect(phone.get_by_test_id("nav").get_by_role("link", name="หน้าหลัก")).to_be_visible()
    _nav_wraps_between_words(phone, "th", "Thai, phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the Thai dashboard is {width}px wide at 375px"
