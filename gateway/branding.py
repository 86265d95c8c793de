"""The operator's face: the portal's name, logo and colours are configuration (BRAND_* in
deploy/config.yaml), checked when the gateway starts and served to the front end by
`GET /api/v1/branding` (and the logo by `GET /api/v1/branding/logo`).

Colours are `#rrggbb`. The primary colour carries white text (buttons, the header is a darker
shade of it) and is the colour of links on the page's background, so it must reach WCAG's AA
contrast of 4.5:1 against both; the accent (the header's rule, the current tab's mark) is a
non-text mark and needs 3:1 against white. A colour that fails is refused at start, with a
darker shade of it that would pass. The logo is a file (SVG, PNG or WebP, at most 256 KB) the
gateway serves from its own origin: the page's Content-Security-Policy loads images from there
only.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import pathlib
import re

from services.common import config as keys

DEFAULT_PRIMARY = "#1d4ed8"
DEFAULT_PRIMARY_DARK = "#1e3a8a"  # gateway/static/styles.css --primary-dark
DEFAULT_ACCENT = "#0e7490"
PAGE_BACKGROUND = "#f4f6f9"  # gateway/static/styles.css --bg
WHITE = "#ffffff"
TEXT_CONTRAST = 4.5  # WCAG 2.2 AA, 1.4.3 (normal text)
MARK_CONTRAST = 3.0  # WCAG 2.2 AA, 1.4.11 (non-text contrast)
MAX_NAME_LENGTH = 60
MAX_LOGO_BYTES = 256 * 1024
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".webp": "image/webp"}
LOGO_PATH = "/api/v1/branding/logo"
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


class BrandingError(ValueError):
    """A BRAND_* setting the gateway refuses to start with; the message says what to set."""


def hex_colour(setting: str, value: object, default: str) -> str:
    """`value` as lower-case #rrggbb (#rgb is widened); empty gives `default`."""
    text = "" if value is None else str(value).strip()
    if not text:
        return default
    if re.fullmatch(r"#[0-9a-fA-F]{3}", text):
        text = "#" + "".join(c * 2 for c in text[1:])
    if not _HEX.fullmatch(text):
        raise BrandingError(f"{setting} is {text!r}: set it to a colour as #rrggbb, e.g. "
                            f"{DEFAULT_PRIMARY}")
    return text.lower()


def _channels(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance of #rrggbb."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """WCAG 2's contrast ratio of two colours, 1 to 21."""
    a, b = sorted((luminance(one), luminance(other)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def darker(colour: str, share: float) -> str:
    """`colour` mixed with black: `share` 0 leaves it, 1 makes it black."""
    return "#" + "".join(f"{round(c * (1 - share)):02x}" for c in _channels(colour))


def darkened_until(colour: str, against: tuple[str, ...], ratio: float) -> str:
    """The lightest shade of `colour` (in 2 % steps towards black) that reaches `ratio` against
    every colour in `against`."""
    for step in range(51):
        shade = darker(colour, step / 50)
        if all(contrast(shade, other) >= ratio for other in against):
            return shade
    return "#000000"


def _checked_contrast(setting: str, colour: str, against: tuple[str, ...], ratio: float,
                      role: str) -> None:
    worst = min(contrast(colour, other) for other in against)
    if worst < ratio:
        raise BrandingError(
            f"{setting} is {colour}: its contrast {role} is {worst:.2f}:1, below the "
            f"{ratio:g}:1 that WCAG 2.2 AA asks for. A darker shade that passes: "
            f"{darkened_until(colour, against, ratio)}")


@dataclasses.dataclass(frozen=True)
class Branding:
    name: str | None
    primary_color: str
    primary_dark_color: str
    accent_color: str
    logo_file: pathlib.Path | None
    logo_type: str | None
    logo_version: str | None

    def public(self) -> dict:
        """What GET /api/v1/branding answers."""
        return {
            "name": self.name,
            "logo_url": f"{LOGO_PATH}?v={self.logo_version}" if self.logo_file else None,
            "primary_color": self.primary_color,
            "primary_dark_color": self.primary_dark_color,
            "accent_color": self.accent_color,
        }


def _logo(value: object) -> tuple[pathlib.Path | None, str | None, str | None]:
    text = "" if value is None else str(value).strip()
    if not text:
        return None, None, None
    path = pathlib.Path(text).expanduser()
    kind = LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        raise BrandingError(f"{keys.BRAND_LOGO_FILE} is {text!r}: the logo must be an .svg, "
                            ".png or .webp file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BrandingError(f"{keys.BRAND_LOGO_FILE} is {text!r}, which cannot be read: "
                            f"{exc.strerror or exc}") from None
    if not data or len(data) > MAX_LOGO_BYTES:
        raise BrandingError(f"{keys.BRAND_LOGO_FILE} is {len(data)} bytes: a logo must have "
                            f"1 to {MAX_LOGO_BYTES} bytes")
    return path.resolve(), kind, hashlib.sha256(data).hexdigest()[:12]


def branding(config: dict) -> Branding:
    """The configured branding, checked; a BrandingError names the setting that is wrong."""
    name = str(config.get(keys.BRAND_NAME) or "").strip() or None
    if name is not None and (len(name) > MAX_NAME_LENGTH or not name.isprintable()):
        raise BrandingError(f"{keys.BRAND_NAME} must be printable text of at most "
                            f"{MAX_NAME_LENGTH} characters")
    primary = hex_colour(keys.BRAND_PRIMARY_COLOR, config.get(keys.BRAND_PRIMARY_COLOR),
                         DEFAULT_PRIMARY)
    _checked_contrast(keys.BRAND_PRIMARY_COLOR, primary, (WHITE, PAGE_BACKGROUND), TEXT_CONTRAST,
                      "with white text and as links on the page's background")
    accent = hex_colour(keys.BRAND_ACCENT_COLOR, config.get(keys.BRAND_ACCENT_COLOR),
                        DEFAULT_ACCENT)
    _checked_contrast(keys.BRAND_ACCENT_COLOR, accent, (WHITE,), MARK_CONTRAST,
                      "against white")
    # the header and hovered buttons: a darker shade of the primary colour (the default's own)
    dark = DEFAULT_PRIMARY_DARK if primary == DEFAULT_PRIMARY else darker(primary, 0.35)
    logo_file, logo_type, logo_version = _logo(config.get(keys.BRAND_LOGO_FILE))
    return Branding(name, primary, dark, accent, logo_file, logo_type, logo_version)


@functools.lru_cache(maxsize=4)
def _cached(name, primary, accent, logo) -> Branding:
    return branding({keys.BRAND_NAME: name, keys.BRAND_PRIMARY_COLOR: primary,
                     keys.BRAND_ACCENT_COLOR: accent, keys.BRAND_LOGO_FILE: logo})


def of(config: dict) -> Branding:
    """`branding(config)`, worked out once per configuration."""
    return _cached(*(str(config.get(k) or "") for k in (
        keys.BRAND_NAME, keys.BRAND_PRIMARY_COLOR, keys.BRAND_ACCENT_COLOR,
        keys.BRAND_LOGO_FILE)))
