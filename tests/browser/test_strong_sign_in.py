"""Strong sign-in in the portal (issue 18 item 5): two-step sign-in with an authenticator app
set up in Settings → Security (the key read from the page, codes computed here as the app
would), the recovery codes shown once, the second step after the password (a code, then a
recovery code, which leaves one fewer); a forgotten password reset through the link mailed to
the stack's mail catcher; and an old sign-in asked to confirm it is them before a sensitive
change, which then goes on. axe checks every state (tests/browser/helpers.py)."""

import datetime as dt
import mailbox
import re

from playwright.sync_api import expect

from services.accounts import mfa
from tests.browser.helpers import Client, log_in_as, new_account
from tests.browser.test_bills import ADMIN
from tests.browser.test_portal import PASSWORD, log_in, log_out, unique_email
from tests.browser.test_security_sessions import open_security

NEW_PASSWORD = "a fresh reset passphrase for the portal"


def services_now(clock_offset_file):
    """The services' time: real time plus the test clock's offset (conftest.advance_clock)."""
    offset = float(clock_offset_file.read_text() or 0)
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)


def code_for(secret, clock_offset_file, steps_ahead=0):
    """The app's code now, or for a later 30-second step (a step's code signs in only once;
    the server accepts the next step's, for clocks that run a little apart)."""
    later = dt.timedelta(seconds=30 * steps_ahead)
    return mfa.totp(secret, services_now(clock_offset_file) + later)


def second_step_page(page):
    step = page.get_by_test_id("page-second-step")
    expect(step).to_be_visible()
    expect(step.get_by_role("heading", level=1, name="Two-step sign-in")).to_be_visible()
    return step


def test_two_step_sign_in_with_the_app_and_a_recovery_code(make_page, portal_url,
                                                             clock_offset_file):
    name = "Tess Twostep"
    email, _ = new_account(portal_url, name)
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": name})

    section = open_security(page, portal_url)
    two_step = section.get_by_test_id("two-step")
    expect(two_step).to_have_attribute("data-enabled", "false")
    expect(two_step.get_by_test_id("two-step-state")).to_have_text("Two-step sign-in is off.")
    two_step.get_by_role("button", name="Turn on two-step sign-in").click()

    setup = section.get_by_test_id("totp-setup")
    expect(setup).to_be_visible()
    secret_text = setup.get_by_test_id("totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", secret_text), secret_text
    secret = secret_text.replace(" ", "")
    expect(setup.get_by_role("img", name=re.compile(r"^QR code for your authenticator app"))
           ).to_be_visible()  # drawn from a chunk of its own (qr.js), with a text alternative
    expect(setup.get_by_role("link", name="Open in your authenticator app")).to_have_attribute(
        "href", re.compile(r"^otpauth://totp/.*secret=" + secret))

    form = setup.get_by_test_id("totp-confirm-form")
    form.get_by_label("Code from the app").fill("000000" if code_for(secret, clock_offset_file)
                                                 != "000000" else "111111")
    form.get_by_role("button", name="Turn on").click()  # a wrong code is said so at the field
    expect(form.get_by_label("Code from the app")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Code from the app").fill(code_for(secret, clock_offset_file))
    form.get_by_role("button", name="Turn on").click()

    panel = section.get_by_test_id("recovery-codes-panel")
    expect(panel.get_by_role("heading", name="Save these recovery codes")).to_be_visible()
    codes = panel.get_by_test_id("recovery-code").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    expect(panel.get_by_test_id("recovery-codes-download")).to_have_attribute(
        "download", "recovery-codes.txt")
    panel.get_by_role("button", name="Continue").click()  # not before saying they are saved
    expect(panel.get_by_label("I have saved these codes")).to_have_attribute("aria-invalid", "true")
    panel.get_by_label("I have saved these codes").check()
    panel.get_by_role("button", name="Continue").click()
    expect(section.get_by_test_id("strong-sign-in-status")).to_contain_text(
        "Two-step sign-in is on.")
    expect(two_step).to_have_attribute("data-enabled", "true")
    expect(section.get_by_test_id("two-step-state")).to_contain_text("Two-step sign-in is on since")
    expect(section.get_by_test_id("recovery-codes-left")).to_have_text("10")

    # the password alone no longer signs in: the second step asks for the app's code
    log_out(page)
    log_in(page, portal_url, email, PASSWORD)
    step = second_step_page(page)
    expect(page.get_by_test_id("page-login")).to_have_count(0)
    code_form = step.get_by_test_id("second-step-code-form")
    code_form.get_by_label("Code from the app").fill("12")
    code_form.get_by_role("button", name="Continue").click()
    expect(code_form.get_by_label("Code from the app")).to_have_attribute("aria-invalid", "true")
    # the confirmed step's code is used up: the next step's
    code_form.get_by_label("Code from the app").fill(code_for(secret, clock_offset_file, 1))
    code_form.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text(name)

    # and a recovery code instead of the app
    log_out(page)
    log_in(page, portal_url, email, PASSWORD)
    step = second_step_page(page)
    step.get_by_role("button", name="Use a recovery code instead").click()
    recovery_form = step.get_by_test_id("second-step-recovery-form")
    expect(step).to_contain_text("Enter one of the recovery codes")
    recovery_form.get_by_label("Recovery code").fill(codes[3])
    recovery_form.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text(name)

    section = open_security(page, portal_url)
    expect(section.get_by_test_id("recovery-codes-left")).to_have_text("9")
    current = section.locator('[data-testid="session"][data-current="true"]')
    expect(current).to_have_count(1)

    # a recovery code works once
    log_out(page)
    log_in(page, portal_url, email, PASSWORD)
    step = second_step_page(page)
    step.get_by_role("button", name="Use a recovery code instead").click()
    recovery_form = step.get_by_test_id("second-step-recovery-form")
    recovery_form.get_by_label("Recovery code").fill(codes[3])
    recovery_form.get_by_role("button", name="Continue").click()
    expect(recovery_form.get_by_test_id("form-message")).not_to_be_empty()
    expect(recovery_form.get_by_label("Recovery code")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("dashboard-greeting")).to_have_count(0)


def mail_dir(tmp_path_factory):
    """The stack's mail catcher (deploy/run.py): a maildir in the stack's data folder."""
    found = sorted(tmp_path_factory.getbasetemp().glob("browser-stack*/var/mail"))
    assert found, "the browser stack's mail catcher has no maildir"
    return found[-1]


def mailed_links(tmp_path_factory, address, kind, page, count=1):
    """The links of `kind` ("reset-password", "verify-email") mailed to `address`, oldest
    first, once there are `count` of them (the notifier sends them a moment later)."""
    pattern = re.compile(rf"\S+/#/{kind}/\S+")
    for _ in range(60):
        found = []
        box = mailbox.Maildir(mail_dir(tmp_path_factory), create=False)
        for message in box:
            if message["To"] != address:
                continue
            part = message if not message.is_multipart() else next(
                p for p in message.walk() if p.get_content_type() == "text/plain")
            text = part.get_payload(decode=True).decode("utf-8", "replace")
            found.extend((message.get_date(), link) for link in pattern.findall(text))
        if len(found) >= count:
            return [link for _, link in sorted(found)]
        page.wait_for_timeout(500)
    raise AssertionError(f"no {kind} mail to {address}")


def test_a_forgotten_password_is_reset_through_the_mailed_link(make_page, portal_url,
                                                               tmp_path_factory):
    name = "Fiona Forgetful"
    email, _ = new_account(portal_url, name)
    page = make_page()
    page.goto(f"{portal_url}/#/login")
    page.get_by_test_id("page-login").get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"#/forgot-password$"))
    form = page.get_by_test_id("forgot-password-form")
    form.get_by_label("Email").fill(email)
    form.get_by_role("button", name="Send the link").click()
    expect(form.get_by_test_id("form-message")).to_have_text(
        f"If an account uses {email}, we sent a link to it. Follow it within the hour to set a "
        "new password.")
    # an unknown address is told the very same
    form.get_by_label("Email").fill("nobody-here@example.com")
    form.get_by_role("button", name="Send the link").click()
    expect(form.get_by_test_id("form-message")).to_contain_text(
        "If an account uses nobody-here@example.com, we sent a link to it.")

    [link] = mailed_links(tmp_path_factory, email, "reset-password", page)
    assert link.startswith(f"{portal_url}/#/reset-password/"), link
    page.goto(link)
    reset = page.get_by_test_id("reset-password-form")
    expect(page.get_by_role("heading", level=1, name="Set a new password")).to_be_visible()
    reset.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    reset.get_by_label("New password again").fill(NEW_PASSWORD + "x")
    reset.get_by_role("button", name="Set the new password").click()
    expect(reset.get_by_label("New password again")).to_have_attribute("aria-invalid", "true")
    reset.get_by_label("New password again").fill(NEW_PASSWORD)
    reset.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_test_id("reset-password-done")).to_have_text(
        "Your password has been changed. Log in with the new one.")
    page.get_by_role("link", name="Go to the login page").click()

    log_in_as(page, portal_url, {"email": email, "name": name, "password": NEW_PASSWORD})

    # the link worked once
    log_out(page)
    page.goto(link)
    reset = page.get_by_test_id("reset-password-form")
    reset.get_by_label("New password", exact=True).fill(NEW_PASSWORD + " again")
    reset.get_by_label("New password again").fill(NEW_PASSWORD + " again")
    reset.get_by_role("button", name="Set the new password").click()
    expect(reset.get_by_test_id("form-message")).not_to_be_empty()
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()


def test_an_old_sign_in_confirms_it_is_them_before_a_sensitive_change(make_page, portal_url,
                                                                      advance_clock):
    name = "Rene Reauth"
    email, _ = new_account(portal_url, name)
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": name})
    advance_clock(days=11 / (24 * 60))  # the sign-in is 11 minutes old: too old for this

    section = open_security(page, portal_url)
    section.get_by_role("button", name="Turn on two-step sign-in").click()
    dialog = page.get_by_role("dialog", name="Confirm it is you")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Your password")).to_be_focused()
    expect(section.get_by_test_id("totp-setup")).to_have_count(0)  # not yet

    dialog.get_by_label("Your password").fill("not the password")
    dialog.get_by_role("button", name="Confirm", exact=True).click()
    expect(dialog.get_by_label("Your password")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Your password").fill(PASSWORD)
    dialog.get_by_role("button", name="Confirm", exact=True).click()
    expect(dialog).to_have_count(0)
    # and the action went on by itself
    expect(section.get_by_test_id("totp-setup")).to_be_visible()
    expect(section.get_by_test_id("totp-secret")).not_to_be_empty()

    # cancelling the dialog leaves things as they were
    section.get_by_role("button", name="Cancel").click()
    advance_clock(days=11 / (24 * 60))
    section.get_by_role("button", name="Turn on two-step sign-in").click()
    dialog = page.get_by_role("dialog", name="Confirm it is you")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(section.get_by_test_id("totp-setup")).to_have_count(0)
    expect(section.get_by_test_id("strong-sign-in-error")).to_be_empty()
    expect(section.get_by_role("button", name="Turn on two-step sign-in")).to_be_focused()


def test_the_address_is_confirmed_and_a_new_one_waits_for_its_link(make_page, portal_url,
                                                                   tmp_path_factory):
    name = "Vera Verify"
    email, _ = new_account(portal_url, name)
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": name})
    page.goto(f"{portal_url}/#/settings/profile")
    state = page.get_by_test_id("email-state")
    expect(state.get_by_test_id("email-unverified")).to_have_text("Not confirmed yet")

    [link] = mailed_links(tmp_path_factory, email, "verify-email", page)  # sent at sign-up
    page.goto(link)
    expect(page.get_by_test_id("verify-email-status")).to_have_text(
        f"Your address {email} is confirmed.")
    page.goto(f"{portal_url}/#/settings/profile")
    expect(state.get_by_test_id("email-verified")).to_have_text("Confirmed")
    expect(state.get_by_role("button", name="Send the link again")).to_have_count(0)

    new = unique_email()
    page.get_by_test_id("email-change-toggle").click()
    form = page.get_by_test_id("email-change-form")
    form.get_by_label("New e-mail address").fill(new)
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_role("button", name="Change the address").click()
    pending = f"We sent a link to {new}; until you follow it we keep using {email}."
    expect(state.get_by_test_id("email-pending")).to_have_text(pending)
    expect(state.get_by_test_id("settings-email")).to_have_text(email)
    state.get_by_role("button", name="Send the link again").click()
    expect(page.get_by_test_id("email-resent")).to_have_text(f"We sent a new link to {new}.")

    links = mailed_links(tmp_path_factory, new, "verify-email", page, count=2)
    page.goto(links[-1])
    expect(page.get_by_test_id("verify-email-status")).to_have_text(
        f"Your address {new} is confirmed.")
    page.goto(f"{portal_url}/#/settings/profile")
    expect(page.get_by_test_id("settings-email")).to_have_text(new)
    expect(page.get_by_test_id("email-verified")).to_be_visible()
    expect(page.get_by_test_id("email-pending")).to_have_count(0)

    # a link that was used is refused, and said so
    page.goto(links[-1])
    expect(page.get_by_test_id("verify-email-status")).not_to_be_empty()
    expect(page.get_by_test_id("verify-email-status")).not_to_contain_text("is confirmed")


# what a session limited to setting up a second factor may reach (gateway/auth.py)
ENROLMENT_PATHS = ("/api/v1/me/mfa/", "/api/v1/me/passkeys", "/api/v1/me/security",
                   "/api/v1/me/reauthenticate", "/api/v1/auth/")


def test_staff_who_must_use_two_step_sign_in_are_kept_on_security_until_they_do(
        make_page, portal_url, clock_offset_file):
    """The gateway limits such staff's session (STAFF_MFA_REQUIRED, which the browser stack
    does not set): played here by the browser's network layer, as gateway/auth.py does it: the
    login answers scope "mfa_enrolment" and every other call 403 MFA_ENROLMENT_REQUIRED until
    the app is confirmed."""
    name = "Stella Staff"
    email, _ = new_account(portal_url, name)
    page = make_page()
    limited = {"on": True}

    def gateway(route):
        request = route.request
        path = request.url[len(portal_url):].split("?")[0]
        if path == "/api/v1/auth/login" and request.method == "POST":
            answer = route.fetch()
            body = answer.json()
            route.fulfill(response=answer, json={**body, "scope": "mfa_enrolment"})
            return
        allowed = (request.method == "GET" and path == "/api/v1/me") or path.startswith(
            ENROLMENT_PATHS)
        if limited["on"] and path.startswith("/api/") and not allowed:
            route.fulfill(status=403, json={"error": {
                "code": "MFA_ENROLMENT_REQUIRED", "fields": {},
                "message": "Set up two-step sign-in first."}})
            return
        if path == "/api/v1/me/mfa/totp/confirm":
            answer = route.fetch()
            if answer.ok:
                limited["on"] = False
            route.fulfill(response=answer)
            return
        route.continue_()

    page.route("**/api/**", gateway)
    log_in(page, portal_url, email, PASSWORD)
    expect(page).to_have_url(re.compile(r"#/settings/security$"))
    flash = page.get_by_test_id("strong-sign-in-flash")
    expect(flash).to_have_text("Your operator requires two-step sign-in for staff accounts. "
                               "Turn it on (or add a passkey) to use the portal.")
    expect(page.get_by_test_id("settings-profile-form")).to_have_count(0)  # nothing else yet
    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"#/settings/security$"))
    page.reload()  # after a reload, the first refused call says so
    expect(page).to_have_url(re.compile(r"#/settings/security$"))
    expect(page.get_by_test_id("strong-sign-in-flash")).to_be_visible()

    section = page.get_by_test_id("settings-security")
    section.get_by_role("button", name="Turn on two-step sign-in").click()
    secret = section.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    form = section.get_by_test_id("totp-confirm-form")
    form.get_by_label("Code from the app").fill(code_for(secret, clock_offset_file))
    form.get_by_role("button", name="Turn on").click()
    panel = section.get_by_test_id("recovery-codes-panel")
    expect(panel.get_by_test_id("recovery-code")).to_have_count(10)
    panel.get_by_label("I have saved these codes").check()
    panel.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("strong-sign-in-flash")).to_have_text(
        "Two-step sign-in is set up: you can use the whole portal now.")
    expect(page.get_by_test_id("settings-profile-form")).to_be_attached()
    expect(page.get_by_test_id("session-list")).to_be_visible()
    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text(name)


def test_a_portal_link_is_the_first_step_only_when_two_step_sign_in_is_on(
        make_page, portal_url, tmp_path_factory, clock_offset_file):
    name = "Lina Linked"
    email, client = new_account(portal_url, name)
    setup = client.call("POST", "/api/v1/me/mfa/totp")
    client.call("POST", "/api/v1/me/mfa/totp/confirm",
                json={"code": code_for(setup["secret"], clock_offset_file)})
    admin = Client(portal_url, *ADMIN)
    admin.call("POST", f"/api/v1/ops/customers/{client.call('GET', '/api/v1/me')['id']}"
                       "/portal-link", 201)
    page = make_page()
    [link] = mailed_links(tmp_path_factory, email, "portal-link", page)  # sent to the customer

    page.goto(link)
    step = second_step_page(page)
    expect(page).to_have_url(re.compile(r"#/login$"))  # the link's token left the address
    form = step.get_by_test_id("second-step-code-form")
    form.get_by_label("Code from the app").fill(code_for(setup["secret"], clock_offset_file, 1))
    form.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text(name)


def test_a_card_added_after_an_old_sign_in_is_saved_once_it_is_them(make_page, portal_url,
                                                                     advance_clock):
    name = "Carla Cardholder"
    email, _ = new_account(portal_url, name)
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": name})
    advance_clock(days=11 / (24 * 60))
    page.goto(f"{portal_url}/#/settings/cards")
    form = page.get_by_test_id("add-card-form")
    form.get_by_test_id("card-number").fill("4242424242424242")
    form.get_by_test_id("card-exp-month").fill("12")
    form.get_by_test_id("card-exp-year").fill(str(dt.date.today().year + 1))
    form.get_by_test_id("card-cvc").fill("123")
    form.get_by_test_id("card-holder").fill(name)
    form.locator("button[type=submit]").click()
    dialog = page.get_by_role("dialog", name="Confirm it is you")
    dialog.get_by_label("Your password").fill(PASSWORD)
    dialog.get_by_role("button", name="Confirm", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("payment-method")).to_have_count(1)
    expect(page.get_by_test_id("payment-method")).to_contain_text("4242")
