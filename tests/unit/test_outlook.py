"""What happens next on the main page (services/billing/subscriptions/outlook.py): which renewal
comes first, whether the wallet pays it, what is missing and how long the balance lasts."""

import datetime as dt

import pytest

from services.billing.subscriptions.outlook import MAX_RENEWALS, Renewing, prepaid

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def sub(sid, day, amount, period="month", anchor=None, package="Premium"):
    at = dt.datetime(2026, 12, day, 9, 0, tzinfo=dt.UTC) if day < 32 else \
        dt.datetime(2027, 1, day - 31, 9, 0, tzinfo=dt.UTC)
    return Renewing(sid, package, at, amount, period, anchor or at.day)


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


@pytest.mark.parametrize(("balance", "subs", "next_at", "covered", "missing", "lasts", "count"), [
    # one monthly renewal of €59.48 on 2 Jan with €40.53: €18.95 missing, lasts until 2 Jan
    (4053, [sub("a", 33, 5948)], "2027-01-02T09:00:00Z", False, 1895,
     "2027-01-02T09:00:00Z", 0),
    # exactly enough for one: paid, the next month is the first it cannot pay
    (5948, [sub("a", 33, 5948)], "2027-01-02T09:00:00Z", True, 0, "2027-02-02T09:00:00Z", 1),
    # three months' worth and a bit
    (3 * 1000 + 1, [sub("a", 10, 1000)], "2026-12-10T09:00:00Z", True, 0,
     "2027-03-10T09:00:00Z", 3),
    # two subscriptions: the earlier renewal comes first; the balance runs out on the later one
    (1500, [sub("late", 20, 1000, package="Basic"), sub("early", 6, 1000)],
     "2026-12-06T09:00:00Z", True, 0, "2026-12-20T09:00:00Z", 1),
    # a yearly subscription renews once within the year ahead: paid, so no end in sight
    (100_000, [sub("y", 15, 39990, period="year")], "2026-12-15T09:00:00Z", True, 0, None, 1),
    # nothing at all on the balance
    (0, [sub("a", 5, 1499)], "2026-12-05T09:00:00Z", False, 1499, "2026-12-05T09:00:00Z", 0),
])
def test_the_next_renewal_what_is_missing_and_how_long_the_balance_lasts(
        balance, subs, next_at, covered, missing, lasts, count):
    out = prepaid(balance, "EUR", subs, NOW)
    assert out["next_renewal"]["date"] == next_at
    assert out["next_renewal"]["covered"] is covered
    assert out["next_renewal"]["missing"] == eur(missing)
    assert out["lasts_until"] == lasts
    assert out["renewals_covered"] == count


def test_the_first_renewal_names_its_subscription_and_amount():
    out = prepaid(0, "EUR", [sub("b", 9, 700, package="Kids"), sub("a", 9, 500)], NOW)
    # a tie on the date goes to the subscription id
    assert out["next_renewal"]["subscription_id"] == "a"
    assert out["next_renewal"]["package"] == "Premium"
    assert out["next_renewal"]["amount"] == eur(500)


def test_no_renewals_means_nothing_to_pay_and_no_end():
    assert prepaid(1234, "EUR", [], NOW) == {"next_renewal": None, "lasts_until": None,
                                             "renewals_covered": 0}


def test_a_balance_that_pays_every_renewal_within_a_year_has_no_end():
    out = prepaid(10**9, "EUR", [sub("a", 5, 1000)], NOW)
    assert out["lasts_until"] is None
    assert out["renewals_covered"] == 13  # 5 Dec 2026 … 5 Dec 2027


def test_renewals_are_capped():
    many = [sub(f"s{i:02d}", 5, 1) for i in range(10)]
    assert prepaid(10**9, "EUR", many, NOW)["renewals_covered"] == MAX_RENEWALS
