"""Where a team webhook may connect: public addresses only, unless the operator allow-lists more
(`WEBHOOK_ALLOWED_HOSTS`). This is the guard against server-side request forgery: whoever may
add a team channel could otherwise make the notifier POST to the broker's management API on
127.0.0.1:15672, a cloud metadata service on 169.254.169.254 or any host of the private network,
and read the first lines of the answer in `/ops/deliveries`.

Two checks, one rule (`WebhookTargets`):
- when a channel is created (`check_url`): a literal address, or a host name that resolves,
  must be allowed; a name that does not resolve (yet) is accepted, the send decides;
- when a webhook is sent (`addresses`): the host name is resolved once, every address it
  resolves to must be allowed, and the sender connects to those very addresses (never
  resolving the name again), so a DNS answer that changes between check and connect (DNS
  rebinding) cannot lead it elsewhere.

Allowed: an address that is globally routable (`ipaddress`' `is_global`, and not multicast),
checking the IPv4 address inside IPv4-mapped, 6to4, Teredo and NAT64 IPv6 addresses too; an
address inside an allow-listed network; any address of an allow-listed host name. Legacy IPv4
spellings (`2130706433`, `0x7f.1`, `127.1`) are read as the addresses they are.

`WEBHOOK_ALLOWED_HOSTS` is a list (YAML list, or text separated by commas or spaces) of
addresses (`127.0.0.1`), networks (`10.20.0.0/16`, `fd00::/8`) and host names
(`alerts.corp.example`, or `*.corp.example` for every name below it). Empty (the default):
public addresses only.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from services.common import green

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

CREATE_RESOLVE_SECONDS = 2.0  # how long a channel's creation waits for DNS
_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_NAME = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ONLY_PUBLIC = "webhooks go to public addresses unless WEBHOOK_ALLOWED_HOSTS lists it"


class TargetRefused(ValueError):
    """A webhook target the notifier must not connect to; the message says why (and never
    which address a host name resolved to: that is the private network's map)."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order (green under eventlet)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in found))


def literal_address(host: str) -> Address | None:
    """The address a URL's host spells, if it is one (including legacy IPv4 spellings that
    `inet_aton` accepts and a resolver would too); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    inside = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        inside.extend(address.teredo)
    if address in _NAT64:
        inside.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in inside if a is not None]


def special_kind(address: Address) -> str | None:
    """What makes `address` unfit for a public webhook (`loopback`, `link-local`, …), or None
    for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            kind = special_kind(inner)
            if kind:
                return kind
    checks = (("loopback", address.is_loopback), ("link-local", address.is_link_local),
              ("unspecified", address.is_unspecified), ("multicast", address.is_multicast),
              ("private", address.is_private), ("reserved", address.is_reserved),
              ("not globally routable", not address.is_global))
    return next((kind for kind, hit in checks if hit), None)


@dataclass(frozen=True)
class WebhookTargets:
    """The rule for webhook targets: public addresses, plus what the operator allow-listed."""

    networks: tuple[Network, ...] = ()
    names: tuple[str, ...] = ()  # exact names; `*.x` entries are kept as `.x`
    resolve: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_config(cls, value: str | Iterable[str] | None,
                    resolve: Resolver = system_resolver) -> WebhookTargets:
        """From `WEBHOOK_ALLOWED_HOSTS`. Raises ValueError naming an entry that is neither an
        address, a network nor a host name (a service refuses to start with it)."""
        if value is None:
            entries: list[str] = []
        elif isinstance(value, str):
            entries = value.replace(",", " ").split()
        else:
            entries = [str(v).strip() for v in value if str(v).strip()]
        networks, names = [], []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if not _NAME.match(name):
                raise ValueError(f"WEBHOOK_ALLOWED_HOSTS: {entry!r} is neither an address, a "
                                 "network (CIDR) nor a host name")
            names.append(name[1:] if name.startswith("*.") else name)
        return cls(tuple(networks), tuple(names), resolve)

    def name_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == n or (n.startswith(".") and host.endswith(n)) for n in self.names)

    def address_allowed(self, address: Address) -> bool:
        return special_kind(address) is None or any(
            address.version == n.version and address in n for n in self.networks)

    def _refuse(self, address: Address, shown: str) -> None:
        if not self.address_allowed(address):
            raise TargetRefused(f"{shown} is not a public address ({special_kind(address)}); "
                                f"{_ONLY_PUBLIC}")

    @staticmethod
    def _host_port(url: str) -> tuple[str, int]:
        try:
            parts = urllib.parse.urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError:
            raise TargetRefused("the URL's host or port is not valid") from None
        if parts.scheme not in ("http", "https") or not host:
            raise TargetRefused("the URL is not http(s) with a host")
        return host, port or (443 if parts.scheme == "https" else 80)

    def check_url(self, url: str) -> None:
        """At channel creation: TargetRefused for a URL whose literal address, or any address
        its host name resolves to now, is not allowed. A name that does not resolve (in
        `CREATE_RESOLVE_SECONDS`) passes: every send checks again."""
        host, port = self._host_port(url)
        if self.name_allowed(host):
            return
        literal = literal_address(host)
        if literal is not None:
            self._refuse(literal, str(literal))
            return
        try:
            with green.deadline(CREATE_RESOLVE_SECONDS):
                found = self.resolve(host, port)
        except (OSError, UnicodeError, green.DeadlineExceeded):
            if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: loopback
                found = ["127.0.0.1"]
            else:
                return
        for text in found:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not self.address_allowed(address):
                raise TargetRefused(f"{host} resolves to an address that is not public "
                                    f"({special_kind(address)}); {_ONLY_PUBLIC}")

    def addresses(self, host: str, port: int) -> list[str]:
        """At send: the addresses to connect to for `host`, every one of them allowed (the
        name is resolved here once; connect to these, never to the name). TargetRefused if
        any is not allowed (a name with one private address among public ones is refused
        whole: which one a client picks is not ours to bet on); OSError if it does not
        resolve."""
        literal = literal_address(host)
        if literal is not None:
            if not self.name_allowed(host):
                self._refuse(literal, str(literal))
            return [str(literal)]
        found = self.resolve(host, port)
        if not found:
            raise OSError(f"{host} has no address")
        if not self.name_allowed(host):
            for text in found:
                address = ipaddress.ip_address(text.split("%", 1)[0])
                if not self.address_allowed(address):
                    raise TargetRefused(f"{host} resolves to an address that is not public "
                                        f"({special_kind(address)}); {_ONLY_PUBLIC}")
        return found
