"""Transport security that depends on where the portal is published (PUBLIC_URL).

When PUBLIC_URL is https:
- every answer carries `Strict-Transport-Security` (HSTS_SECONDS, default one year; 0 sends
  none), so a browser that has seen the portal once never talks plain http to it again;
- session cookies are `Secure` unless COOKIE_SECURE says otherwise (`cookies_secure`).

The header is added in the WSGI layer, so every answer has it: API routes, the portal's static
files, error answers for unknown paths. nameko's WebServer is a shared extension and documents
`get_wsgi_app()` as the place for WSGI middleware; `TransportSecurity` (a dependency of the
gateway) wraps the one WebServer all of the gateway's HTTP entrypoints share, before it starts.
"""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.web.server import WebServer

from services.common import config as keys

DEFAULT_HSTS_SECONDS = 365 * 24 * 3600


def cookies_secure(config: dict) -> bool:
    """COOKIE_SECURE if set (true/false), else whether PUBLIC_URL is https."""
    value = config.get(keys.COOKIE_SECURE)
    if value is None or str(value).strip() == "":
        return keys.is_https(config)
    return keys.as_bool(value)


def hsts_header(config: dict) -> str | None:
    """The Strict-Transport-Security value to send, or None (plain http, or HSTS_SECONDS=0)."""
    if not keys.is_https(config):
        return None
    raw = config.get(keys.HSTS_SECONDS)
    try:
        seconds = DEFAULT_HSTS_SECONDS if raw is None or str(raw).strip() == "" else int(raw)
    except ValueError:
        raise ValueError(f"HSTS_SECONDS must be a whole number of seconds, not {raw!r}") from None
    return f"max-age={seconds}" if seconds > 0 else None


class HeaderMiddleware:
    """A WSGI middleware that sets headers on every answer (replacing any of the same name)."""

    def __init__(self, app, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = list(headers.items())
        self.names = {name.lower() for name in headers}

    def __call__(self, environ, start_response):
        def start(status, response_headers, exc_info=None):
            kept = [(n, v) for n, v in response_headers if n.lower() not in self.names]
            return start_response(status, kept + self.headers, exc_info)

        return self.app(environ, start)


class TransportSecurity(DependencyProvider):
    """Adds HSTS to every answer of the gateway's web server when PUBLIC_URL is https."""

    server = WebServer()  # the shared instance the gateway's @http entrypoints use

    def setup(self) -> None:
        value = hsts_header(self.container.config)
        if value is None:
            return
        make_app = self.server.get_wsgi_app

        def get_wsgi_app():
            return HeaderMiddleware(make_app(), {"Strict-Transport-Security": value})

        self.server.get_wsgi_app = get_wsgi_app
