"""The gateway's read cache (gateway/readcache.py) and the dashboard view over it: what is kept,
what evicts, and that an eviction racing a fill never leaves a stale entry."""

from types import SimpleNamespace

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.http import Call
from gateway.readcache import BILLING, NOTIFIER, TICKETS, ReadCache, after_write, customers_in
from gateway.views import dashboard
from services.common import errors


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_an_answer_is_kept_until_its_time_limit_and_only_for_the_same_arguments():
    clock = Clock()
    cache = ReadCache(30, clock=clock)
    assert cache.put("c1", BILLING, {"a": 1}, cache.begin(), ("EUR", "prepaid"))
    assert cache.get("c1", BILLING, ("EUR", "prepaid")) == {"a": 1}
    assert cache.get("c1", BILLING, ("USD", "prepaid")) is None  # the account changed
    assert cache.get("c1", TICKETS) is None and cache.get("c2", BILLING) is None
    clock.now += 29.9
    assert cache.get("c1", BILLING, ("EUR", "prepaid")) == {"a": 1}
    clock.now += 0.1
    assert cache.get("c1", BILLING, ("EUR", "prepaid")) is None


def test_an_eviction_removes_the_named_parts_of_one_customer():
    cache = ReadCache(30)
    token = cache.begin()
    for customer in ("c1", "c2"):
        for part in (BILLING, TICKETS, NOTIFIER):
            cache.put(customer, part, {"part": part}, token)
    cache.evict("c1", (TICKETS,))
    assert cache.get("c1", TICKETS) is None
    assert cache.get("c1", BILLING) == {"part": BILLING}
    assert cache.get("c2", TICKETS) == {"part": TICKETS}
    cache.evict("c2")
    assert [cache.get("c2", p) for p in (BILLING, TICKETS, NOTIFIER)] == [None] * 3
    assert cache.get("c1", NOTIFIER) == {"part": NOTIFIER}


def test_a_fill_that_began_before_an_eviction_is_not_stored():
    cache = ReadCache(30)
    token = cache.begin()  # the view sends its RPCs ...
    cache.evict("c1", (BILLING,))  # ... the write commits and its event arrives ...
    assert not cache.put("c1", BILLING, {"balance": "old"}, token)  # ... the old answer lands
    assert cache.get("c1", BILLING) is None
    # another customer's or another part's fill is not affected
    assert cache.put("c2", BILLING, {"balance": 1}, token)
    assert cache.put("c1", TICKETS, {"count": 1}, token)
    # a fill that began after the eviction is stored
    assert cache.put("c1", BILLING, {"balance": "new"}, cache.begin())
    assert cache.get("c1", BILLING) == {"balance": "new"}


def test_forgotten_evictions_refuse_every_older_fill():
    cache = ReadCache(30, max_marks=2)
    token = cache.begin()
    cache.evict("c1", (BILLING,))
    cache.evict("c2", (BILLING,))
    cache.evict("c3", (BILLING,))  # c1's mark is dropped: fills older than it are refused
    assert not cache.put("c1", BILLING, {"stale": True}, token)
    assert not cache.put("c9", BILLING, {"maybe": True}, token)  # conservative
    assert cache.put("c1", BILLING, {"fresh": True}, cache.begin())


def test_clear_refuses_fills_under_way_and_the_size_is_bounded():
    cache = ReadCache(30, max_entries=3)
    token = cache.begin()
    for n in range(5):
        cache.put(f"c{n}", BILLING, n, token)
    assert len(cache) == 3 and cache.get("c0", BILLING) is None and cache.get("c4", BILLING) == 4
    cache.clear()
    assert len(cache) == 0 and not cache.put("c1", BILLING, 1, token)


def test_a_time_limit_of_zero_turns_the_cache_off():
    cache = ReadCache(0)
    assert not cache.put("c1", BILLING, 1, cache.begin()) and cache.get("c1", BILLING) is None


def test_the_customers_an_event_names():
    assert customers_in({"event_id": "e", "wallet": {"customer_id": "c1"}}) == ["c1"]
    assert customers_in({"event_id": "e", "inbox": {"customer_ids": ["c1", "c2"]}}) == [
        "c1", "c2"]
    assert customers_in({"event_id": "e", "ticket": {"id": "t"}}) == []


def test_a_write_evicts_the_caller_and_the_customer_it_names():
    cache = ReadCache(30)
    token = cache.begin()
    for customer in ("me", "them", "other", "answer"):
        cache.put(customer, BILLING, 1, token)
    me = SimpleNamespace(customer_id="me")
    after_write(cache, me, {}, None)
    assert cache.get("me", BILLING) is None and cache.get("them", BILLING) == 1
    after_write(cache, me, {"customer_id": "them"}, {"customer_id": "answer"})
    assert cache.get("them", BILLING) is None and cache.get("answer", BILLING) is None
    assert cache.get("other", BILLING) == 1
    after_write(None, me, {}, None)  # a gateway without the cache


# the view ------------------------------------------------------------------------------------

class Reply:
    def __init__(self, value=None, error=None, before_answer=None):
        self.value, self.error, self.before_answer = value, error, before_answer

    def wait(self, until):
        if self.before_answer:
            self.before_answer()
        if self.error:
            raise self.error
        return self.value


class Proxy:
    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def start(self, method, *args):
        self.calls.append((method, *args))
        answer = self.answers[method]
        return answer() if callable(answer) else Reply(answer)


ACCOUNT = {"id": "cus_1", "name": "Ann", "billing_type": "prepaid", "currency": "EUR",
           "language": "en", "role": "customer"}
WALLET = {"balance": {"amount": 100, "currency": "EUR"}, "currency": "EUR",
          "low_balance": False, "low_balance_threshold": {"amount": 500, "currency": "EUR"}}


def world(**answers):
    answers = {"dashboard": {"subscriptions": [], "wallet": WALLET, "bills": None},
               "open_tickets": {"count": 0, "latest": []},
               "unread_count": {"unread_count": 2}, **answers}
    proxy = Proxy(answers)
    return SimpleNamespace(billing=proxy, tickets=proxy, notifier=proxy, views=ReadCache(30),
                           config={}), proxy


def call(headers=None):
    request = Request(EnvironBuilder(path="/api/v1/dashboard", headers=headers or {}).get_environ())
    return Call(request=request, request_id="req_1", client_ip=None,
                principal=Principal(account=ACCOUNT, session_id="ses_1", token="t"))


def test_the_second_view_asks_no_service_and_no_cache_asks_every_one():
    gw, proxy = world()
    first = dashboard.dashboard(gw, call())
    assert len(proxy.calls) == 3
    assert dashboard.dashboard(gw, call()) == first and len(proxy.calls) == 3
    assert first["wallet"] == {"unavailable": False, **WALLET}
    assert first["unread_notifications"] == {"unavailable": False, "count": 2}
    dashboard.dashboard(gw, call({"Cache-Control": "no-cache"}))
    assert len(proxy.calls) == 6
    gw.views.evict("cus_1", (NOTIFIER,))  # an event: only that part is asked again
    dashboard.dashboard(gw, call())
    assert [c[0] for c in proxy.calls[6:]] == ["unread_count"]


def test_an_unavailable_part_is_never_kept():
    gw, proxy = world(open_tickets=lambda: Reply(error=errors.ServiceUnavailable("down")))
    view = dashboard.dashboard(gw, call())
    assert view["open_tickets"] == {"unavailable": True}
    assert view["subscriptions"]["unavailable"] is False
    proxy.answers["open_tickets"] = {"count": 1, "latest": []}
    view = dashboard.dashboard(gw, call())
    assert view["open_tickets"] == {"unavailable": False, "count": 1, "latest": []}
    assert [c[0] for c in proxy.calls[3:]] == ["open_tickets"]


def test_an_answer_read_before_a_write_is_not_kept_when_the_write_evicted_meanwhile():
    gw, proxy = world()
    old = {"subscriptions": [], "wallet": {**WALLET, "balance": {"amount": 1, "currency": "EUR"}},
           "bills": None}
    # the billing answer is read, then the customer's top-up evicts before the answer lands
    proxy.answers["dashboard"] = lambda: Reply(old, before_answer=lambda: gw.views.evict(
        "cus_1", (BILLING,)))
    assert dashboard.dashboard(gw, call())["wallet"]["balance"]["amount"] == 1
    proxy.answers["dashboard"] = {**old, "wallet": WALLET}
    assert dashboard.dashboard(gw, call())["wallet"]["balance"]["amount"] == 100
