from nameko.exceptions import RemoteError, deserialize, serialize

from gateway.errors import error_response, status_of
from services.common import errors


def test_typed_errors_cross_rpc_with_code_fields_and_details():
    original = errors.rate_limited(42, "slow down")
    back = deserialize(serialize(original))
    assert type(back) is errors.RateLimited
    assert (back.code, back.message, back.retry_after) == ("RATE_LIMITED", "slow down", 42)

    original = errors.InvalidArgument(code="WEAK_PASSWORD", fields={"password": ["too short"]})
    back = deserialize(serialize(original))
    assert type(back) is errors.InvalidArgument
    assert back.fields == {"password": ["too short"]} and back.code == "WEAK_PASSWORD"


def test_unexpected_remote_errors_become_a_500_that_says_nothing_internal():
    remote = deserialize(serialize(KeyError("secret_table.column")))
    assert isinstance(remote, RemoteError)
    response = error_response(remote, "req_1")
    assert response.status_code == 500
    assert b"secret_table" not in response.get_data()
    assert b"req_1" in response.get_data()


def test_each_kind_has_its_status():
    assert status_of(errors.NotFound()) == 404
    assert status_of(errors.Conflict()) == 409
    assert status_of(errors.PaymentDeclined()) == 402
    response = error_response(errors.rate_limited(7), "r")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
