"""The recommendation rules (services/insights/recommendations.py), table-driven: one customer's
subscription, catalog candidates and viewing in, the advice out."""

import pytest

from services.insights.recommendations import (
    KINDS,
    Candidate,
    HeldAddon,
    Holding,
    Renewal,
    Settings,
    Viewing,
    advice_id,
    monthly,
    recommend,
)

NEWS = frozenset({"News 24", "Weather Now", "Metro TV"})
FAMILY = NEWS | frozenset({"Docu World", "Nature HD", "Drama Channel", "Crime Files"})
PREMIUM = FAMILY | frozenset({"Cinema 1 HD", "Cinema 2 HD", "Series Plus", "Thriller TV",
                              "Romance Plus", "Blockbuster 4K"})
SPORTS = frozenset({"Sport 2 HD", "Football TV", "Tennis Channel"})
MOVIES = frozenset({"Cinema 1 HD", "Cinema 2 HD", "Series Plus"})

BASIC_C = Candidate("basic", "Basic", NEWS, 1190)
FAMILY_C = Candidate("family", "Family", FAMILY, 2380)
PREMIUM_C = Candidate("premium", "Premium", PREMIUM, 3490)
FAMILY_WITH_SPORTS = Candidate("family", "Family", FAMILY | SPORTS, 3379, ("sports",))
# what a Family subscription with the sports add-on may change to (Premium keeps the add-on: dearer)
WITH_SPORTS = (BASIC_C, FAMILY_WITH_SPORTS,
               Candidate("premium", "Premium", PREMIUM | SPORTS, 4489, ("sports",)))


def holding(package="family", addons=(), candidates=(BASIC_C, FAMILY_C, PREMIUM_C),
            price=2380, channels=FAMILY, name="Family"):
    return Holding("sub-1", package, name, channels, price, "EUR", tuple(addons),
                   tuple(candidates))


def sports(monthly_price=999, removable=True):
    return HeldAddon("sports", "Sports", SPORTS, monthly_price, removable)


def watching(reported_days=40, **minutes_by_channel):
    return Viewing({k.replace("_", " "): v for k, v in minutes_by_channel.items()},
                   reported_days)


def family_viewing(**extra):
    return watching(Docu_World=900, Nature_HD=600, Drama_Channel=1200, News_24=300, **extra)


CASES = [
    # (name, holdings, viewing, renewal, expected [(kind, reason code, target, effect)])
    ("an add-on watched 30 minutes in 60 days is advised away",
     [holding(addons=[sports()], candidates=WITH_SPORTS)], family_viewing(Football_TV=30), None,
     [("unused_addon", "unused_addon", "sports", -999)]),
    ("an add-on watched an hour is kept",
     [holding(addons=[sports()], candidates=WITH_SPORTS)], family_viewing(Football_TV=60), None,
     []),
    ("an add-on the rules forbid removing is never advised away",
     [holding(addons=[sports(removable=False)], candidates=WITH_SPORTS)], family_viewing(), None,
     []),
    ("too few reported days prove nothing: no viewing-based advice",
     [holding(addons=[sports()])], watching(reported_days=5, Docu_World=900), None, []),
    ("no viewing at all (switched off): only advice that needs none",
     [holding(addons=[sports()])], None, None, []),
    ("a package hardly watched: the cheapest allowed package",
     [holding()], watching(Tennis_Channel=0, Docu_World=20, News_24=10), None,
     [("unused_package", "unused_package", "basic", 1190 - 2380)]),
    ("a cheaper package carrying what is watched",
     [holding()], watching(News_24=3000, Weather_Now=500, Docu_World=50), None,
     [("cheaper_package", "cheaper_package", "basic", 1190 - 2380)]),
    ("a cheaper package missing more than 5 % of the minutes is not advised",
     [holding()], watching(News_24=3000, Docu_World=600), None, []),
    ("the same channels for less: a package that includes the add-on (no viewing needed)",
     [holding(addons=[HeldAddon("movies", "Movies", MOVIES, 1299)])], None, None,
     [("cheaper_package", "same_channels_for_less", "premium", 3490 - 3679)]),
    ("a small difference for what is watched and more channels",
     [holding(candidates=(FAMILY_C, Candidate("premium", "Premium", PREMIUM, 2600)))],
     family_viewing(), None,
     [("better_package", "better_package", "premium", 220)]),
    ("an upgrade beyond the difference allowed is not advised",
     [holding(candidates=(FAMILY_C, Candidate("premium", "Premium", PREMIUM, 2700)))],
     family_viewing(), None, []),
    ("a package the rules forbid is not a candidate, so never advised",
     [holding(candidates=(FAMILY_C,))], watching(News_24=3000), None, []),
    ("an unused add-on and a package change for one subscription",
     [holding(addons=[sports()], candidates=(BASIC_C, FAMILY_WITH_SPORTS))],
     watching(News_24=3000), None,
     [("cheaper_package", "cheaper_package", "basic", 1190 - 3379),
      ("unused_addon", "unused_addon", "sports", -999)]),
    ("a prepaid wallet short of the next renewal: top up, rounded to a whole unit",
     [holding()], family_viewing(), Renewal(1135, "2027-01-04", "EUR"),
     [("top_up", "top_up", None, 0)]),
    ("a wallet that pays the renewal: no top-up",
     [holding()], family_viewing(), Renewal(0, "2027-01-04", "EUR"), []),
]


@pytest.mark.parametrize("name, holdings, viewing, renewal, expected", CASES,
                         ids=[c[0] for c in CASES])
def test_rules(name, holdings, viewing, renewal, expected):
    advice = recommend(holdings, viewing, renewal)
    got = [(a["kind"], a["reason"]["code"],
            a["action"].get("addon") or a["action"].get("package"), a["monthly_effect"])
           for a in advice]
    assert got == expected


def test_top_up_amount_and_params():
    [advice] = recommend([], None, Renewal(1135, "2027-01-04", "EUR"))
    assert advice["action"] == {"type": "top_up", "amount": 1200}
    assert advice["reason"]["params"] == {"amount": {"amount": 1200, "currency": "EUR"},
                                          "missing": {"amount": 1135, "currency": "EUR"},
                                          "date": "2027-01-04"}


def test_reason_params_name_what_the_portal_words():
    [advice] = recommend([holding(addons=[sports()], candidates=WITH_SPORTS)],
                         family_viewing(Football_TV=30))
    assert advice["reason"] == {"code": "unused_addon", "params": {
        "addon": "Sports", "minutes": 30, "days": 60,
        "saving": {"amount": 999, "currency": "EUR"}}}
    assert advice["action"] == {"type": "remove_addon", "subscription_id": "sub-1",
                                "addon": "sports"}


def test_ids_are_stable_and_distinct():
    first = recommend([holding(addons=[sports()], candidates=WITH_SPORTS)],
                      family_viewing(Football_TV=0))
    again = recommend([holding(addons=[sports()], candidates=WITH_SPORTS)],
                      family_viewing(Football_TV=5))
    assert [a["id"] for a in first] == [a["id"] for a in again]
    assert advice_id("unused_addon", "sub-1", "sports") != advice_id("unused_addon", "sub-2",
                                                                    "sports")


def test_dismissed_advice_gives_way_to_the_next_one():
    customer = [holding(addons=[HeldAddon("movies", "Movies", MOVIES, 1299)])]
    viewing = watching(News_24=3000, Weather_Now=500)
    def changes(advice):
        return [(a["reason"]["code"], a["action"]["package"]) for a in advice
                if a["action"]["type"] == "change_package"]

    best = recommend(customer, viewing)
    assert changes(best) == [("cheaper_package", "basic")]
    after = recommend(customer, viewing, dismissed={best[0]["id"]})
    assert changes(after) == [("same_channels_for_less", "premium")]


def test_kinds_switched_off_are_not_given():
    customer = [holding(addons=[sports()], candidates=WITH_SPORTS)]
    viewing = family_viewing(Football_TV=0)
    assert recommend(customer, viewing, kinds=frozenset(KINDS) - {"unused_addon"}) == []
    assert len(recommend(customer, viewing)) == 1


@pytest.mark.parametrize("amount, period, expected",
                         [(1190, "month", 1190), (11900, "year", 992), (12, "year", 1),
                          (6, "year", 1), (5, "year", 0)])
def test_monthly(amount, period, expected):
    assert monthly(amount, period) == expected


def test_settings_change_the_thresholds():
    customer = [holding(addons=[sports()], candidates=WITH_SPORTS)]
    viewing = family_viewing(Football_TV=100)
    assert recommend(customer, viewing) == []
    assert [a["kind"] for a in recommend(customer, viewing,
                                         settings=Settings(unused_minutes=120))] == [
        "unused_addon"]
