"""billing's forgetting of a person, the pure parts: which strings are looked for in free text
and what replaces them (services/billing/privacy.py)."""

import pytest

from services.billing import privacy
from services.common import errors
from services.common import privacy as common_privacy

PERSON = {"id": "cus_1", "name": "Annika Quux", "email": "annika@example.com",
          "phone": "+49 30 98765432", "language": "de",
          "address": {"line1": "Zebrastraße 77", "line2": None, "city": "Quxburg",
                      "postal_code": "10999", "country": "DE"}}


def scrub(value, person=PERSON):
    return privacy.scrubber(privacy.replacements(person, "Customer 7f3a"))(value)


def test_the_name_becomes_the_pseudonym_and_contact_details_disappear():
    assert scrub("Goodwill for ANNIKA QUUX, call +49 30 98765432 or annika@example.com") \
        == "Goodwill for Customer 7f3a, call  or "
    assert scrub("Moved to Zebrastraße 77, 10999 Quxburg") == "Moved to , 10999 "


def test_json_texts_are_scrubbed_inside_and_other_values_kept():
    text = {"code": "adjustment", "params": {"reason": "for Annika Quux", "actor": "ops",
                                             "amount": "10999", "n": 3, "list": ["Quxburg"]}}
    assert scrub(text) == {"code": "adjustment", "params": {
        "reason": "for Customer 7f3a", "actor": "ops", "amount": "10999", "n": 3, "list": [""]}}
    assert scrub(None) is None and scrub(5) == 5


def test_only_whole_words_and_only_the_persons_fields_are_looked_for():
    # the account's id, language and country are not personal details to erase
    assert scrub("cus_1 de DE Quxburger Annika Quuxes") == "cus_1 de DE Quxburger Annika Quuxes"
    assert privacy.replacements(None, "x") == [] and scrub("Annika Quux", {}) == "Annika Quux"


def test_scrubbing_twice_changes_nothing_more():
    once = scrub("Annika Quux at Zebrastraße 77")
    assert scrub(once) == once


@pytest.mark.parametrize("pseudonym", ["", "   ", None, 7, "x" * 201])
def test_a_pseudonym_is_a_short_non_empty_string(pseudonym):
    with pytest.raises(errors.InvalidArgument):
        common_privacy.pseudonym(pseudonym)


def test_personal_details_must_be_an_object():
    with pytest.raises(errors.InvalidArgument):
        privacy.replacements(["Annika"], "x")


def test_in_what_people_wrote_each_word_of_the_name_goes_too():
    words = privacy.scrubber(privacy.replacements(PERSON, "Customer 7f3a", name_words=True))
    assert words("Dear Annika, sorry Mr Quux. Annika Quux") == \
        "Dear Customer 7f3a, sorry Mr Customer 7f3a. Customer 7f3a"
    assert scrub("Dear Annika") == "Dear Annika"  # generated texts: the whole name only
