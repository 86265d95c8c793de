"""The operator's branding over real HTTP (gateway/branding.py, GET /api/v1/branding and
/api/v1/branding/logo): public, cacheable, the configured name, colours and logo; the
defaults without settings; a gateway with a colour that misses AA contrast does not start."""

import pytest
import requests

from gateway.branding import BrandingError
from gateway.service import GatewayService
from services.accounts.service import AccountsService
from tests.stack import free_port

LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
        b'<circle cx="12" cy="12" r="9"/></svg>')


def _gateway(runner_factory, rabbit_config, pg_url, **settings):
    port = free_port()
    config = {**rabbit_config, "DATABASE_URLS": {"accounts": pg_url},
              "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", **settings}
    runner_factory(config, AccountsService, GatewayService).start()
    return f"http://127.0.0.1:{port}"


def test_the_configured_brand_is_served_to_anyone_and_may_be_cached(
        tmp_path, rabbit_config, pg_url, runner_factory):
    logo = tmp_path / "nordlicht.svg"
    logo.write_bytes(LOGO)
    base = _gateway(runner_factory, rabbit_config, pg_url, BRAND_NAME="Nordlicht TV",
                    BRAND_PRIMARY_COLOR="#0B6E4F", BRAND_ACCENT_COLOR="#b45309",
                    BRAND_LOGO_FILE=str(logo))
    answer = requests.get(f"{base}/api/v1/branding", timeout=15)  # no session: public
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    brand = answer.json()
    assert brand["name"] == "Nordlicht TV"
    assert brand["primary_color"] == "#0b6e4f" and brand["accent_color"] == "#b45309"
    assert brand["primary_dark_color"].startswith("#") and brand["primary_dark_color"] != "#0b6e4f"
    assert brand["logo_url"].startswith("/api/v1/branding/logo?v=")

    image = requests.get(base + brand["logo_url"], timeout=15)
    assert image.status_code == 200 and image.content == LOGO
    assert image.headers["Content-Type"].startswith("image/svg+xml")
    assert image.headers["Cache-Control"] == "public, max-age=86400"
    assert image.headers["X-Content-Type-Options"] == "nosniff"


def test_without_settings_the_portal_s_own_face(rabbit_config, pg_url, runner_factory):
    base = _gateway(runner_factory, rabbit_config, pg_url)
    brand = requests.get(f"{base}/api/v1/branding", timeout=15).json()
    assert brand == {"name": None, "logo_url": None, "primary_color": "#1d4ed8",
                     "primary_dark_color": "#1e3a8a", "accent_color": "#0e7490"}
    missing = requests.get(f"{base}/api/v1/branding/logo", timeout=15)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


def test_a_gateway_with_an_unreadable_brand_colour_does_not_start(rabbit_config, pg_url,
                                                                  runner_factory):
    with pytest.raises(BrandingError, match="BRAND_PRIMARY_COLOR"):
        _gateway(runner_factory, rabbit_config, pg_url, BRAND_PRIMARY_COLOR="#ffcc00")
