"""Transport: where the portal is published (PUBLIC_URL) and what stands in front of it.

The client's address (`client_ip`), as throttles and the audit log count it, is the socket's
peer, or, behind load balancers, read from X-Forwarded-For as TRUSTED_PROXIES allows.

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

import functools
import ipaddress

from nameko.extensions import DependencyProvider
from nameko.web.server import WebServer
from werkzeug.wrappers import Request

from gateway import branding
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


def client_ip(request: Request, config: dict) -> str | None:
    """The caller's address, as the throttles and the audit log count it.

    `TRUSTED_PROXIES` (addresses or networks of the load balancers in front of the gateway):
    X-Forwarded-For is read from the right, skipping every hop that is a trusted proxy; the
    first that is not is the client (what a client writes further left is never believed).
    `TRUST_PROXY_HEADERS` alone trusts exactly one proxy hop. Otherwise: the socket's peer."""
    peer = request.remote_addr
    trusted = trusted_networks(config.get(keys.TRUSTED_PROXIES))
    if trusted:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [*(h.strip() for h in forwarded.split(",") if h.strip()), peer]
        for hop in reversed([h for h in hops if h]):
            if not _inside(hop, trusted):
                return hop
        return hops[0] if hops else peer
    if keys.as_bool(config.get(keys.TRUST_PROXY_HEADERS, False)) and request.access_route:
        # the address our proxy saw is the last it appended; earlier ones the client can forge
        return request.access_route[-1]
    return peer


@functools.lru_cache(maxsize=8)
def _networks(spec: str) -> tuple:
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in spec.split(",") if part.strip())


def trusted_networks(value) -> tuple:
    """TRUSTED_PROXIES as networks; a bad entry is a ValueError naming the setting."""
    if not value:
        return ()
    spec = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    try:
        return _networks(spec)
    except ValueError as bad:
        raise ValueError(f"TRUSTED_PROXIES: {bad}") from None


def _inside(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TransportSecurity(DependencyProvider):
    """Adds HSTS to every answer of the gateway's web server when PUBLIC_URL is https."""

    server = WebServer()  # the shared instance the gateway's @http entrypoints use

    def setup(self) -> None:
        # settings the gateway refuses at start rather than at the first request
        trusted_networks(self.container.config.get(keys.TRUSTED_PROXIES))
        keys.price_display(self.container.config)
        branding.of(self.container.config)  # names, colours (their contrast), the logo file
        value = hsts_header(self.container.config)
        if value is None:
            return
        make_app = self.server.get_wsgi_app

        def get_wsgi_app():
            return HeaderMiddleware(make_app(), {"Strict-Transport-Security": value})

        self.server.get_wsgi_app = get_wsgi_app
