"""Households in the portal: a prepaid holder (topped up by card) invites a member in Settings →
Household with a monthly limit that buys one Basic package; the member signs up with the
invited address from the link in the mail (the join page sends them to sign up and brings them
back), joins, switches to the household (a banner says so, the holder's other pages are not
offered), sees none of the holder's subscriptions, subscribes to Basic, and a second purchase is
refused with the spending limit's message; the holder's Subscriptions show both. axe checks every
state (tests/browser/helpers.py)."""

import re

from playwright.sync_api import expect

from tests.browser.helpers import add_card, log_in_as, new_account, no_horizontal_scroll
from tests.browser.test_portal import PASSWORD, unique_email
from tests.browser.test_strong_sign_in import mailed_links
from tests.browser.test_subscriptions import card_for, catalog_packages, subscribe


def test_a_member_joins_switches_and_buys_within_the_limit(make_page, portal_url,
                                                           tmp_path_factory):
    holder_name = "Hilda Holder"
    holder_email, holder = new_account(portal_url, holder_name)
    add_card(holder, "4242424242424242", holder_name)
    holder.call("POST", "/api/v1/wallet/top-ups", 201,
                json={"amount": {"amount": 15000, "currency": "EUR"}},
                headers={"Idempotency-Key": f"household-{holder_email}"})
    holder.call("POST", "/api/v1/subscriptions", 201, json={"package": "premium"},
                headers={"Idempotency-Key": f"household-sub-{holder_email}"})

    page = make_page()
    log_in_as(page, portal_url, {"email": holder_email, "name": holder_name})
    basic = catalog_packages(page, portal_url)["basic"]["taxed_prices"]["month"]["gross"]
    limit = f"{basic['amount'] // 100}.{basic['amount'] % 100:02d}"

    page.goto(f"{portal_url}/#/settings/household")
    section = page.get_by_test_id("settings-household")
    expect(section.get_by_role("heading", level=2, name="Household")).to_be_visible()
    expect(section.get_by_test_id("household-no-members")).to_be_visible()
    member_email = unique_email()
    form = section.get_by_test_id("household-invite-form")
    form.get_by_label("Their e-mail address").fill(member_email)
    form.get_by_label("Share the wallet").check()
    form.get_by_label("Monthly limit (EUR)").fill(limit)
    form.get_by_role("button", name="Send the invitation").click()
    invitation = section.get_by_test_id("household-invitation")
    expect(invitation).to_contain_text(member_email)
    expect(invitation).to_contain_text(f"up to €{limit} a month")

    # the member: the link from the mail, signed out → sign up with the invited address → back
    [link] = mailed_links(tmp_path_factory, member_email, "household/join", page)
    member_name = "Max Member"
    other = make_page(width=390, height=844)  # the member on a phone
    other.goto(link)
    join = other.get_by_test_id("page-household-join")
    expect(join.get_by_test_id("household-join-sign-in")).to_contain_text(
        "sign in, or sign up, with the e-mail address the invitation was sent to")
    join.get_by_role("link", name="Sign up").click()
    signup = other.get_by_test_id("signup-form")
    signup.get_by_label("Email", exact=True).fill(member_email)
    signup.get_by_label("Password", exact=True).fill(PASSWORD)
    signup.get_by_label("Name", exact=True).fill(member_name)
    signup.get_by_label(re.compile("^Prepaid")).check()
    signup.get_by_label("Currency").select_option("EUR")
    signup.get_by_role("button", name="Create account").click()
    expect(other).to_have_url(re.compile(r"#/household/join/"))
    other.get_by_role("button", name="Join the household").click()
    expect(other.get_by_test_id("household-joined")).to_have_text(
        f"You have joined {holder_name}'s household.")
    other.get_by_role("button", name=f"Switch to {holder_name}'s household").click()

    expect(other).to_have_url(re.compile(r"#/subscriptions$"))
    banner = other.get_by_test_id("acting-banner")
    expect(banner).to_contain_text(f"You are in {holder_name}'s household")
    no_horizontal_scroll(other, 390, "Subscriptions in a household")
    for hidden in ("nav-dashboard", "nav-bills", "nav-support", "nav-notifications",
                   "tab-dashboard", "tab-support"):
        expect(other.get_by_test_id(hidden)).to_have_count(0)
    # the shared wallet: its balance, a voucher top-up; not the holder's history or cards
    other.get_by_test_id("tab-wallet").click()
    expect(other.get_by_test_id("wallet-shared")).to_contain_text(
        f"{holder_name} shares this wallet")
    expect(other.get_by_test_id("wallet-balance")).to_contain_text("€")
    # their own settings only (after a reload too: the session stays in the household)
    other.goto(f"{portal_url}/#/settings")
    expect(other.get_by_test_id("page-settings")).to_be_visible()
    expect(other.get_by_test_id("acting-banner")).to_be_visible()
    expect(other.get_by_test_id("settings-section-privacy")).to_be_visible()
    for hidden in ("cards", "notifications", "household"):
        expect(other.get_by_test_id(f"settings-section-{hidden}")).to_have_count(0)
    other.get_by_test_id("settings-section-security").click()
    expect(other.get_by_test_id("session-list")).to_be_visible()
    other.get_by_test_id("tab-subscriptions").click()
    expect(other.get_by_test_id("subscription-card")).to_have_count(0)  # not the holder's
    subscribe(other, "basic")

    # a second Basic would pass the limit
    option = other.locator('[data-testid="package-option"][data-package-code="basic"]')
    option.get_by_role("button", name=re.compile("^Choose")).click()
    subscribe_form = other.get_by_test_id("subscribe-form")
    subscribe_form.get_by_role("radio", name=re.compile("^Monthly")).check()
    subscribe_form.get_by_role("button", name="Subscribe", exact=True).click()
    expect(subscribe_form).to_contain_text(
        "This would pass the monthly spending limit the account holder set for you.")
    expect(other.get_by_test_id("subscription-card")).to_have_count(1)

    # a page outside a member's reach lands on Subscriptions; back to the member's own account
    other.goto(f"{portal_url}/#/bills")
    expect(other).to_have_url(re.compile(r"#/subscriptions$"))
    other.get_by_test_id("acting-banner").get_by_role("button", name="Back to my account").click()
    expect(other.get_by_test_id("dashboard-greeting")).to_contain_text(member_name)
    expect(other.get_by_test_id("acting-banner")).to_have_count(0)
    # the menu's switcher goes into the household and back too
    other.get_by_test_id("nav-toggle").click()
    switcher = other.get_by_test_id("account-switcher")
    switcher.get_by_label("Use the portal as").select_option(label=f"{holder_name}'s household")
    switcher.get_by_role("button", name="Switch").click()
    expect(other.get_by_test_id("acting-banner")).to_contain_text(holder_name)
    expect(other.get_by_test_id("subscription-card")).to_have_count(1)
    other.get_by_test_id("nav-toggle").click()
    switcher.get_by_label("Use the portal as").select_option(label="My account")
    switcher.get_by_role("button", name="Switch").click()
    expect(other.get_by_test_id("dashboard-greeting")).to_contain_text(member_name)

    # the holder sees both subscriptions, and the member in the household
    page.goto(f"{portal_url}/#/subscriptions")
    expect(page.get_by_test_id("subscription-card")).to_have_count(2)
    expect(card_for(page, "Basic")).to_have_count(1)
    page.goto(f"{portal_url}/#/settings/household")
    member = page.get_by_test_id("household-member")
    expect(member).to_contain_text(member_name)
    expect(member.get_by_test_id("member-terms")).to_contain_text(f"up to €{limit} a month")


def test_the_holder_withdraws_changes_and_removes_and_only_the_invited_address_joins(
        make_page, portal_url, tmp_path_factory):
    holder_name = "Hugo Holder"
    holder_email, holder = new_account(portal_url, holder_name)
    member_name = "Mia Member"
    member_email, member = new_account(portal_url, member_name)
    stranger_name = "Sam Stranger"
    stranger_email, _ = new_account(portal_url, stranger_name)
    page = make_page()
    log_in_as(page, portal_url, {"email": holder_email, "name": holder_name})
    page.goto(f"{portal_url}/#/settings/household")
    section = page.get_by_test_id("settings-household")
    form = section.get_by_test_id("household-invite-form")
    form.get_by_label("Monthly limit (EUR)").fill("abc")  # said at the field
    form.get_by_role("button", name="Send the invitation").click()
    expect(form.get_by_label("Their e-mail address")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Monthly limit (EUR)")).to_have_attribute("aria-invalid", "true")
    for address in (member_email, "someone.else@example.com"):
        form.get_by_label("Their e-mail address").fill(address)
        form.get_by_label("Monthly limit (EUR)").fill("")
        form.get_by_role("button", name="Send the invitation").click()
        expect(section.get_by_test_id("household-status")).to_contain_text(address)
    invitations = section.get_by_test_id("household-invitation")
    expect(invitations).to_have_count(2)
    expect(invitations.first).to_contain_text("no monthly limit")
    section.get_by_role("button",
                        name="Withdraw the invitation to someone.else@example.com").click()
    expect(invitations).to_have_count(1)

    # someone else signed in cannot use the member's link
    [link] = mailed_links(tmp_path_factory, member_email, "household/join", page)
    stranger = make_page()
    log_in_as(stranger, portal_url, {"email": stranger_email, "name": stranger_name})
    stranger.goto(link)
    stranger.get_by_role("button", name="Join the household").click()
    expect(stranger.get_by_test_id("household-join-error")).to_have_text(
        "This invitation is for another e-mail address. Sign in with that one.")
    token = link.rsplit("/", 1)[1]
    member.call("POST", "/api/v1/me/households/join", 201, json={"token": token})

    page.reload()
    member_item = page.get_by_test_id("household-member")
    expect(member_item).to_contain_text(member_name)
    expect(page.get_by_test_id("household-invitation")).to_have_count(0)
    member_form = member_item.get_by_test_id("household-member-form")
    member_form.get_by_label("Share the wallet").check()
    member_form.get_by_label("Monthly limit (EUR)").fill("12.50")
    member_form.get_by_role("button", name="Save").click()
    expect(member_form.get_by_test_id("form-message")).to_have_text("Saved.")
    [seen] = holder.call("GET", "/api/v1/household")["members"]
    assert seen["share_wallet"] is True
    assert seen["monthly_limit"] == {"amount": 1250, "currency": "EUR"}, seen

    member_item.get_by_role("button", name=f"Remove {member_name} from the household").click()
    reauth = page.get_by_role("dialog", name="Confirm it is you")
    reauth_or_done = page.get_by_test_id("household-no-members").or_(reauth)
    expect(reauth_or_done).to_be_visible()
    if reauth.count():
        reauth.get_by_label("Your password").fill(PASSWORD)
        reauth.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_test_id("household-no-members")).to_be_visible()
    expect(page.get_by_test_id("household-status")).to_contain_text(
        f"{member_name} is no longer in your household.")
    assert member.call("GET", "/api/v1/me/households")["data"] == []
