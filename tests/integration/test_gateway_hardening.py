"""Issue #13, item 10, through the gateway and the real services (PostgreSQL, RabbitMQ): bad
input is a 400 or a 405 with `Allow`, never a 500."""

import pytest
import requests

from deploy import demo


@pytest.fixture
def portal(start_portal):
    return start_portal()


def admin_of(portal) -> str:
    return demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def raw_post(portal, path, token, text, headers=None):
    """POST `text` as it is: the JSON escapes under test must reach the server unparsed."""
    return requests.post(portal.url + path, data=text.encode("ascii"), timeout=15, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        **(headers or {})})


def error_of(response) -> dict:
    return response.json()["error"]


def test_strings_that_are_not_text_and_deep_nesting_are_400_never_500(portal):
    admin = admin_of(portal)
    faq = '{"category": "general", "language": "en", "question": "%s", "answer": "Yes."}'
    for bad in (r"Why \ud8d4?", r"Why \udc00 \ud83d?", r"Why\u0000?"):
        refused = raw_post(portal, "/api/v1/ops/faq", admin, faq % bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert error_of(refused)["code"] == "MALFORMED_JSON" and error_of(refused)["fields"]
    # a surrogate pair is one character: a valid emoji is stored as it is
    emoji = raw_post(portal, "/api/v1/ops/faq", admin, faq % r"Why \ud83d\ude00?")
    assert emoji.status_code == 201, emoji.text
    assert emoji.json()["question"] == "Why \U0001F600?"

    for depth in (40, 100_000):  # past our depth limit, and past the parser's recursion limit
        deep = '{"question": ' + "[" * depth + "]" * depth + "}"
        refused = raw_post(portal, "/api/v1/ops/faq", admin, deep)
        assert refused.status_code == 400, (depth, refused.text[:300])
        assert error_of(refused)["code"] == "MALFORMED_JSON"

    nul_in_path = requests.delete(portal.url + "/api/v1/ops/faq/faq_%00x", timeout=15,
                                  headers={"Authorization": f"Bearer {admin}"})
    assert nul_in_path.status_code == 400, nul_in_path.text
    nul_in_query = requests.get(portal.url + "/api/v1/faq?q=a%00b", timeout=15,
                                headers={"Authorization": f"Bearer {admin}"})
    assert nul_in_query.status_code == 400, nul_in_query.text


def test_an_undeclared_method_on_a_known_path_is_405_with_allow(portal):
    for method, path, allow in (("PUT", "/api/v1/ops/faq", "GET, HEAD, POST"),
                                ("OPTIONS", "/api/v1/ops/faq", "GET, HEAD, POST"),
                                ("TRACE", "/api/v1/wallet", "GET, HEAD, PATCH"),
                                ("GET", "/api/v1/wallet/top-ups", "POST"),
                                ("POST", "/api/v1/tickets/tkt_x", "GET, HEAD")):
        answer = requests.request(method, portal.url + path, timeout=15)
        assert answer.status_code == 405, (method, path, answer.status_code)
        assert answer.headers["Allow"] == allow, (method, path)
        assert error_of(answer)["code"] == "METHOD_NOT_ALLOWED"
    assert requests.put(portal.url + "/api/v1/nothing", timeout=15).status_code == 404
