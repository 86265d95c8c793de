"""What keeps a service alive and its callers answered when the broker or the database goes
away, piece by piece (the chaos tier shows the whole): replies and acknowledgements that cannot
be sent are dropped, not raised into nameko (which would kill the container); a lost database is
a 503 to retry, not a 500; the gateway maps a broker error under a view to 503; the local runner
restarts a process that dies."""

from __future__ import annotations

import json
import logging
import sys
import time
from types import SimpleNamespace

import pytest
from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError
from sqlalchemy import exc as sqlalchemy_exc

from deploy import run
from gateway.errors import error_response
from services.common import correlation, errors, events, rpc
from services.common.observability import ContextFilter, JsonFormatter


class FakeQueueConsumer:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.acked, self.requeued = [], []

    def ack_message(self, message):
        if self.fail_with:
            raise self.fail_with
        self.acked.append(message)

    def requeue_message(self, message):
        if self.fail_with:
            raise self.fail_with
        self.requeued.append(message)


def consumer(queue_consumer) -> rpc.UnconfirmedRpcConsumer:
    rpc_consumer = rpc.UnconfirmedRpcConsumer()
    rpc_consumer.container = SimpleNamespace(
        config={"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}, service_name="billing")
    rpc_consumer.queue_consumer = queue_consumer
    return rpc_consumer


MESSAGE = SimpleNamespace(delivery_info={"routing_key": "billing.top_up"},
                          properties={"reply_to": "r", "correlation_id": "c"}, headers={})


@pytest.mark.parametrize("failure", [
    OperationalError("[Errno 111] Connection refused"), RecoverableConnectionError("gone"),
    ConnectionResetError("reset")])
def test_a_reply_that_cannot_be_sent_is_dropped_counted_and_the_request_acknowledged(
        monkeypatch, failure):
    def broken(self, result, exc_info):
        raise failure

    monkeypatch.setattr(rpc.UnconfirmedResponder, "send_response", broken)
    dropped = []
    monkeypatch.setattr(rpc, "dropped_reply_observers", [dropped.append])
    queue_consumer = FakeQueueConsumer()
    result, exc_info = consumer(queue_consumer).handle_result(MESSAGE, {"ok": 1}, None)
    assert result == {"ok": 1} and exc_info is None
    assert dropped == ["billing"] and queue_consumer.acked == [MESSAGE]


class DeadChannelMessage:
    """A message whose connection died after it was delivered: ack and requeue raise."""

    channel = SimpleNamespace(connection=object())  # looks alive; the ack fails
    delivery_info = {"routing_key": "billing.top_up"}
    properties = {"reply_to": "r", "correlation_id": "c"}
    headers: dict = {}

    def ack(self):
        raise RecoverableConnectionError("connection closed")

    requeue = ack


def test_an_acknowledgement_on_a_dead_connection_is_dropped_not_raised(monkeypatch):
    monkeypatch.setattr(rpc.UnconfirmedResponder, "send_response",
                        lambda self, result, exc_info: (result, exc_info))
    # does not raise: nameko would kill the container
    consumer(rpc.RobustQueueConsumer()).handle_result(DeadChannelMessage(), {"ok": 1}, None)


def test_a_bug_in_a_reply_still_raises(monkeypatch):
    """Only the broker's failures are swallowed: a programming error is not hidden."""
    def broken(self, result, exc_info):
        raise TypeError("not serializable")

    monkeypatch.setattr(rpc.UnconfirmedResponder, "send_response", broken)
    with pytest.raises(TypeError):
        consumer(FakeQueueConsumer()).handle_result(MESSAGE, {"ok": 1}, None)


@pytest.mark.parametrize("failure", [
    sqlalchemy_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    sqlalchemy_exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")),
    sqlalchemy_exc.TimeoutError("QueuePool limit reached")])
def test_a_lost_database_answers_service_unavailable_to_the_caller(monkeypatch, failure):
    sent = []
    monkeypatch.setattr(rpc.UnconfirmedResponder, "send_response",
                        lambda self, result, exc_info: sent.append(exc_info) or (result, exc_info))
    consumer(FakeQueueConsumer()).handle_result(MESSAGE, None, (type(failure), failure, None))
    kind, value, _ = sent[0]
    assert kind is errors.ServiceUnavailable and value.code == "DATABASE_UNAVAILABLE"


def test_a_database_integrity_error_is_not_turned_into_a_503(monkeypatch):
    sent = []
    monkeypatch.setattr(rpc.UnconfirmedResponder, "send_response",
                        lambda self, result, exc_info: sent.append(exc_info) or (result, exc_info))
    failure = sqlalchemy_exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    consumer(FakeQueueConsumer()).handle_result(MESSAGE, None, (type(failure), failure, None))
    assert sent[0][1] is failure


def test_a_request_that_cannot_be_published_is_service_unavailable():
    class Proxy:
        def __getattr__(self, name):
            return SimpleNamespace(call_async=lambda *a, **k: (_ for _ in ()).throw(
                OperationalError("[Errno 111] Connection refused")))

    bounded = rpc.BoundedServiceProxy(Proxy(), "billing", timeout=5)
    with pytest.raises(errors.ServiceUnavailable) as refused:
        bounded.top_up("cus_1")
    assert "billing" in refused.value.message


def test_a_broker_error_under_a_view_is_a_503_in_the_error_shape():
    response = error_response(OperationalError("Connection refused"), "req_1")
    body = json.loads(response.get_data())
    assert response.status_code == 503
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE" and body["error"]["fields"] == {}


def test_other_unexpected_errors_stay_a_500_that_says_nothing_internal():
    response = error_response(KeyError("secret detail"), "req_2")
    assert response.status_code == 500 and b"secret detail" not in response.get_data()


class FakeEventMessage:
    def __init__(self, deliveries: int) -> None:
        self.headers = {"x-delivery-count": deliveries} if deliveries else {}


def handler(queue_consumer, requeue_on_error=True) -> events.EventHandler:
    h = events.EventHandler("billing", "wallet_credited", requeue_on_error=requeue_on_error)
    h.queue_consumer = queue_consumer
    return h


def test_a_redelivered_event_waits_longer_each_time_before_it_is_handled(monkeypatch):
    pauses, handled = [], []
    monkeypatch.setattr(events, "eventlet_sleep", pauses.append)
    monkeypatch.setattr(events.NamekoEventHandler, "handle_message",
                        lambda self, body, message: handled.append(body))
    for deliveries in (0, 1, 2, 4, 10):
        handler(FakeQueueConsumer()).handle_message(deliveries, FakeEventMessage(deliveries))
    assert pauses == [0.5, 1.0, 4.0, events.RETRY_MAX_SECONDS]  # the first delivery: no wait
    assert handled == [0, 1, 2, 4, 10]


def test_a_failed_event_is_requeued_and_a_handled_one_acknowledged():
    queue_consumer = FakeQueueConsumer()
    handler(queue_consumer).handle_message_processed("failed", None, (ValueError, None, None))
    handler(queue_consumer).handle_message_processed("handled", None, None)
    handler(queue_consumer, requeue_on_error=False).handle_message_processed(
        "dropped", None, (ValueError, None, None))
    assert queue_consumer.requeued == ["failed"]
    assert queue_consumer.acked == ["handled", "dropped"]


def test_an_acknowledgement_of_an_event_on_a_dead_connection_is_dropped():
    robust = rpc.RobustQueueConsumer()
    handler(robust).handle_message_processed(DeadChannelMessage(), None, None)  # no raise
    handler(robust).handle_message_processed(DeadChannelMessage(), None,
                                             (ValueError, None, None))  # requeue: no raise


def test_the_envelope_carries_the_correlation_id_of_the_work_in_progress():
    import datetime as dt

    correlation.enter("req_abc", "billing")
    try:
        envelope = events.make_envelope("wallet", {"id": 1}, dt.datetime.now(dt.UTC))
    finally:
        correlation.enter(None, None)
    assert envelope["correlation_id"] == "req_abc"
    assert "correlation_id" not in events.make_envelope("wallet", {}, dt.datetime.now(dt.UTC))


def test_log_lines_name_the_service_and_correlation_id_as_json():
    record = logging.LogRecord("billing", logging.WARNING, __file__, 1, "top-up %s failed",
                               ("pay_1",), None)
    correlation.enter("req_xyz", "billing")
    try:
        ContextFilter().filter(record)
    finally:
        correlation.enter(None, None)
    line = json.loads(JsonFormatter().format(record))
    assert line["service"] == "billing" and line["correlation_id"] == "req_xyz"
    assert line["message"] == "top-up pay_1 failed" and line["level"] == "WARNING"


# the local runner -----------------------------------------------------------------------------

def test_the_runner_restarts_a_process_that_dies_and_says_so(tmp_path):
    (tmp_path / "logs").mkdir()
    runner = run.Runner({}, tmp_path / "logs")
    runner.launch(run.Process("flaky", [sys.executable, "-c", "print('boom'); exit(3)"], {},
                              tmp_path / "logs" / "flaky.log", delay=0.2))
    first = runner.procs["flaky"].popen
    first.wait(10)
    notes = runner.supervise()
    assert len(notes) == 1 and "flaky exited (code 3)" in notes[0] and "boom" in notes[0]
    deadline = time.monotonic() + 10
    while runner.procs["flaky"].popen is first and time.monotonic() < deadline:
        notes += runner.supervise()
        time.sleep(0.05)
    assert runner.procs["flaky"].popen is not first and runner.procs["flaky"].restarts == 1
    assert "flaky started again (restart 1" in notes[-1]
    assert runner.procs["flaky"].delay == 0.4  # doubled: the backoff grows while it keeps dying
    runner.stop()
    assert json.loads((tmp_path / "processes.json").read_text()).keys() <= {"flaky"}


def test_several_processes_per_service_need_postgres(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("REPLICAS", "2")
    monkeypatch.delenv("DATABASE", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_PORT", "0")
    assert run.main(["--no-demo"]) == 1
    assert "DATABASE=postgres" in capsys.readouterr().err


def test_the_queue_consumer_drops_an_acknowledgement_on_a_dead_connection():
    consumer = rpc.RobustQueueConsumer()
    consumer.ack_message(DeadChannelMessage())  # neither raises
    consumer.requeue_message(DeadChannelMessage())


def test_every_consumer_shares_the_one_robust_queue_consumer():
    """RPC requests, replies and events: one connection per process, reconnecting fast."""
    assert type(rpc.UnconfirmedRpcConsumer.queue_consumer) is rpc.RobustQueueConsumer
    assert type(rpc.SafeReplyListener.queue_consumer) is rpc.RobustQueueConsumer
    assert type(events.EventHandler.queue_consumer) is rpc.RobustQueueConsumer
