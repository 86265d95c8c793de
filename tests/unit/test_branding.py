"""The operator's branding (gateway/branding.py): colours are #rrggbb, the primary colour keeps
AA contrast with white text and as a link on the page's background, the accent 3:1 against
white; a bad setting is refused when the gateway starts (TransportSecurity.setup), naming it."""

import pytest

from gateway import branding
from gateway.branding import BrandingError, contrast, darkened_until
from gateway.transport import TransportSecurity
from services.common import config as keys


def test_contrast_is_wcag_s_ratio():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the known AA grey
    assert contrast("#1d4ed8", "#ffffff") == contrast("#ffffff", "#1d4ed8")


def test_defaults_when_nothing_is_set():
    brand = branding.branding({})
    assert brand.public() == {"name": None, "logo_url": None, "primary_color": "#1d4ed8",
                              "primary_dark_color": "#1e3a8a", "accent_color": "#0e7490"}
    assert contrast(brand.primary_color, "#ffffff") >= 4.5
    assert contrast(brand.accent_color, "#ffffff") >= 3


def test_a_configured_brand_is_normalised_and_gets_a_darker_header_shade():
    brand = branding.branding({keys.BRAND_NAME: "  Nordlicht TV ",
                               keys.BRAND_PRIMARY_COLOR: "#0B6E4F",
                               keys.BRAND_ACCENT_COLOR: "#b45309"})
    assert brand.name == "Nordlicht TV"
    assert brand.primary_color == "#0b6e4f"
    assert contrast(brand.primary_dark_color, "#ffffff") > contrast(brand.primary_color, "#ffffff")
    assert branding.branding({keys.BRAND_PRIMARY_COLOR: "#036"}).primary_color == "#003366"


@pytest.mark.parametrize("value", ["blue", "#12345", "#1234567", "rgb(0,0,0)", "#gg0000", "1d4ed8"])
def test_a_colour_that_is_not_hex_is_refused(value):
    with pytest.raises(BrandingError, match="BRAND_PRIMARY_COLOR.*#rrggbb"):
        branding.branding({keys.BRAND_PRIMARY_COLOR: value})


def test_a_primary_colour_white_text_cannot_be_read_on_is_refused_with_a_shade_that_passes():
    with pytest.raises(BrandingError) as refused:
        branding.branding({keys.BRAND_PRIMARY_COLOR: "#ffcc00"})  # yellow: 1.6:1 with white
    message = str(refused.value)
    assert "BRAND_PRIMARY_COLOR" in message and "4.5:1" in message
    suggestion = message.rsplit(" ", 1)[-1]
    assert branding.branding({keys.BRAND_PRIMARY_COLOR: suggestion}).primary_color == suggestion
    assert contrast(suggestion, "#ffffff") >= 4.5 and contrast(suggestion, "#f4f6f9") >= 4.5


def test_a_colour_just_under_aa_on_the_page_background_is_refused():
    # #2f6fe0 reads 4.6:1 with white text, but only 4.2:1 as a link on the page's background
    assert contrast("#2f6fe0", "#ffffff") >= 4.5 > contrast("#2f6fe0", "#f4f6f9")
    with pytest.raises(BrandingError, match="BRAND_PRIMARY_COLOR"):
        branding.branding({keys.BRAND_PRIMARY_COLOR: "#2f6fe0"})


def test_a_pale_accent_is_refused():
    with pytest.raises(BrandingError, match="BRAND_ACCENT_COLOR.*3:1"):
        branding.branding({keys.BRAND_ACCENT_COLOR: "#f59e0b"})  # amber: 2.1:1 against white


def test_darkening_reaches_the_ratio_asked():
    shade = darkened_until("#ff8800", ("#ffffff",), 4.5)
    assert contrast(shade, "#ffffff") >= 4.5
    assert darkened_until("#000000", ("#ffffff",), 4.5) == "#000000"


def test_a_name_too_long_or_with_control_characters_is_refused():
    with pytest.raises(BrandingError, match="BRAND_NAME"):
        branding.branding({keys.BRAND_NAME: "x" * 61})
    with pytest.raises(BrandingError, match="BRAND_NAME"):
        branding.branding({keys.BRAND_NAME: "Bad\nName"})


def test_the_logo_file_is_checked_and_its_address_carries_its_hash(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>')
    brand = branding.branding({keys.BRAND_LOGO_FILE: str(logo)})
    assert brand.logo_type == "image/svg+xml"
    assert brand.public()["logo_url"] == f"/api/v1/branding/logo?v={brand.logo_version}"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2"/>')
    assert branding.branding({keys.BRAND_LOGO_FILE: str(logo)}).logo_version != brand.logo_version
    with pytest.raises(BrandingError, match="BRAND_LOGO_FILE.*cannot be read"):
        branding.branding({keys.BRAND_LOGO_FILE: str(tmp_path / "missing.png")})
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    with pytest.raises(BrandingError, match=r"\.svg, \.png or \.webp"):
        branding.branding({keys.BRAND_LOGO_FILE: str(tmp_path / "logo.gif")})
    (tmp_path / "huge.png").write_bytes(b"\0" * (branding.MAX_LOGO_BYTES + 1))
    with pytest.raises(BrandingError, match="bytes"):
        branding.branding({keys.BRAND_LOGO_FILE: str(tmp_path / "huge.png")})


class _Container:
    def __init__(self, config):
        self.config = config


def test_the_gateway_refuses_to_start_with_a_bad_brand_colour():
    provider = TransportSecurity()
    provider.container = _Container({keys.BRAND_PRIMARY_COLOR: "#ffcc00"})
    with pytest.raises(BrandingError, match="BRAND_PRIMARY_COLOR"):
        provider.setup()
    provider.container = _Container({keys.BRAND_PRIMARY_COLOR: "#0b6e4f"})
    provider.setup()
