"""The client's address behind load balancers (gateway/transport.py client_ip): what the
throttles count and the audit log records."""

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.transport import client_ip, trusted_networks

PROXIES = {"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1"}


def request(peer, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return Request(EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": peer})
                   .get_environ())


@pytest.mark.parametrize(("peer", "forwarded", "config", "expected"), [
    ("5.5.5.5", None, {}, "5.5.5.5"),                               # no proxy
    ("5.5.5.5", "1.1.1.1", {}, "5.5.5.5"),                          # headers not trusted
    ("10.0.0.5", "1.2.3.4", PROXIES, "1.2.3.4"),                    # one balancer
    ("10.0.0.5", "1.2.3.4, 10.0.0.7", PROXIES, "1.2.3.4"),          # two hops of ours
    ("10.0.0.5", "6.6.6.6, 1.2.3.4", PROXIES, "1.2.3.4"),           # a forged hop, ignored
    ("5.5.5.5", "1.2.3.4", PROXIES, "5.5.5.5"),                     # not via our proxies
    ("10.0.0.5", "10.0.0.6", PROXIES, "10.0.0.6"),                  # only proxies: the first
    ("10.0.0.5", "6.6.6.6, 1.2.3.4", {"TRUST_PROXY_HEADERS": True}, "1.2.3.4"),  # one hop
])
def test_the_client_is_the_first_hop_from_the_right_that_is_not_our_proxy(
        peer, forwarded, config, expected):
    assert client_ip(request(peer, forwarded), config) == expected


def test_a_bad_trusted_proxies_entry_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        trusted_networks("10.0.0.0/8, not-a-network")
