"""Sending one delivery over its channel: e-mail (SMTP), webhook (signed HTTP POST), the bus
(the `alerts` topic exchange). No database here: `deliveries.py` decides what to send and
records what happened; a `Senders` only sends, and raises `DeliveryFailed` when it could not.

Every message carries the delivery's dedup key (`X-Portal-Dedup-Key` in the e-mail and webhook
headers, `message_id` and an `x-portal-dedup-key` header on the bus; the e-mail's Message-ID
is derived from it too): delivery is at least once (see `deliveries.py`), so a receiver that
must not act twice drops a key it has seen.

Webhook signatures (Stripe-style): `X-Portal-Timestamp` is the Unix time of the send (real
time, as the receiver's clock sees it) and `X-Portal-Signature` is
`sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>` over the exact body bytes. A receiver
checks it with `verify()`, refusing timestamps more than five minutes off (replays).

Under nameko every socket here is green (eventlet's monkey patching): smtplib, http.client and
pika's BlockingConnection all yield to other green threads while they wait (checked by
`tests/integration/test_notifier_delivery.py`, which publishes from a nameko container). One
pika connection per `Senders`, shared under a lock and reopened after an error.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import smtplib
import socket
import ssl
import threading
import time
import urllib.parse
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import pika
import pika.exceptions
from nameko.extensions import DependencyProvider

from services.common import config as keys
from services.common import green
from services.notifier.targets import (
    TargetRefused,
    WebhookTargets,
    literal_address,
    special_kind,
)

log = logging.getLogger(__name__)

ALERTS_EXCHANGE = "alerts"
DEDUP_HEADER = "X-Portal-Dedup-Key"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
SIGNATURE_HEADER = "X-Portal-Signature"
SIGNATURE_TOLERANCE_S = 300
# SMTP sessions are kept open between e-mails (a session costs a connection and EHLO, more
# than the message): at most SMTP_KEEP idle ones, each reused within SMTP_IDLE_SECONDS
SMTP_KEEP = 4
SMTP_IDLE_SECONDS = 20.0
# A webhook's answer is read up to this much (its status and, when it refuses, the start of its
# body for ops): a receiver that streams without end costs 64 KiB and the deadline, no more
WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024
WEBHOOK_EXCERPT_CHARS = 200


def _close_smtp(smtp: smtplib.SMTP, quit: bool = False) -> None:
    try:
        if quit:
            smtp.quit()
            return
    except (OSError, smtplib.SMTPException):
        pass
    smtp.close()


class DeliveryFailed(Exception):
    """A delivery could not be sent.

    `scope` is set when the server itself is unreachable (SMTP down, the broker gone, a webhook
    host not answering): every other delivery of that scope (`scope_of`) would fail the same
    way in this round, so the caller fails them without trying. `permanent` means retrying
    cannot help (a malformed message, a recipient the mail server refuses for good).
    """

    def __init__(self, message: str, scope: str | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.scope = scope
        self.permanent = permanent


# signatures ---------------------------------------------------------------------------------

def _as_bytes(body: bytes | str) -> bytes:
    return body if isinstance(body, bytes) else body.encode("utf-8")


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """`sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`, the `X-Portal-Signature`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + _as_bytes(body),
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, header_timestamp: str | None, header_signature: str | None,
           body: bytes | str, tolerance_s: float = SIGNATURE_TOLERANCE_S,
           now: float | None = None) -> bool:
    """True if `header_signature` signs `body` at `header_timestamp` with `secret`, and the
    timestamp is within `tolerance_s` of `now` (default: the current Unix time)."""
    try:
        timestamp = int(str(header_timestamp))
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), str(header_signature or "").encode("utf-8"))


# helpers shared with deliveries.py ------------------------------------------------------------

def redact_url(url: str | None) -> str | None:
    """`https://hooks.example.com/…`: scheme, host and port only. Webhook URLs often carry
    their credential in the path or query (Slack's do), so listings and errors never show it."""
    if not url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "…"
    if not parts.scheme or not host:
        return "…"
    rest = "/…" if (parts.path not in ("", "/") or parts.query or parts.fragment) else "/"
    return f"{parts.scheme}://{host}{port}{rest}"


def scope_of(delivery) -> str:
    """What a delivery depends on being up: `email` (the SMTP server), `bus` (the broker),
    `webhook:<scheme://host:port>`."""
    if delivery.channel == "webhook":
        parts = urllib.parse.urlsplit(delivery.target or "")
        return f"webhook:{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return delivery.channel


def json_body(payload: dict | None) -> bytes:
    return json.dumps(payload or {}, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class Senders:
    """Sends deliveries; built from the nameko config dict (keys in services/common/config.py).

    `send(delivery)` takes anything with the Delivery columns as attributes (`channel`,
    `target`, `subject`, `body`, `payload`, `secret`, `dedup_key`, `kind`) and returns when the
    receiver has it: the SMTP server accepted the message, the webhook answered 2xx, the broker
    confirmed the publish. Otherwise it raises `DeliveryFailed`.
    """

    def __init__(self, config: dict) -> None:
        self.smtp_host = config.get(keys.SMTP_HOST) or "127.0.0.1"
        self.smtp_port = _int(config.get(keys.SMTP_PORT), 1025)
        self.smtp_from = config.get(keys.SMTP_FROM) or "noreply@localhost"
        self.smtp_username = config.get(keys.SMTP_USERNAME) or ""
        self.smtp_password = config.get(keys.SMTP_PASSWORD) or ""
        self.smtp_starttls = keys.as_bool(config.get(keys.SMTP_STARTTLS) or False)
        self.smtp_timeout = _float(config.get(keys.SMTP_TIMEOUT_SECONDS), 10.0)
        self.webhook_timeout = _float(config.get(keys.WEBHOOK_TIMEOUT_SECONDS), 5.0)
        self.targets = WebhookTargets.from_config(config.get(keys.WEBHOOK_ALLOWED_HOSTS))
        self.amqp_uri = config.get(keys.AMQP_URI) or "amqp://guest:guest@127.0.0.1:5672/"
        self._tls = ssl.create_default_context()
        self._smtp_lock = threading.Lock()
        self._smtp_idle: list[tuple[smtplib.SMTP, float]] = []  # open sessions, newest last
        self._bus_lock = threading.Lock()  # a green lock under eventlet: one publish at a time
        self._bus_connection: pika.BlockingConnection | None = None
        self._bus_channel = None

    def send(self, delivery) -> None:
        channel = getattr(delivery, "channel", None)
        if channel == "email":
            self.send_email(delivery)
        elif channel == "webhook":
            self.send_webhook(delivery)
        elif channel == "bus":
            self.send_bus(delivery)
        else:
            raise DeliveryFailed(f"unknown channel {channel!r}", permanent=True)

    def close(self) -> None:
        with self._smtp_lock:
            idle, self._smtp_idle = self._smtp_idle, []
        for smtp, _ in idle:
            _close_smtp(smtp, quit=True)
        with self._bus_lock:
            self._close_bus()

    # e-mail ---------------------------------------------------------------------------------

    def build_email(self, delivery) -> EmailMessage:
        """The message for an e-mail delivery: From/To/Subject, a text body (and an HTML part
        when the payload has `html`), the dedup key header, a Message-ID derived from it."""
        message = EmailMessage()
        message["From"] = self.smtp_from
        message["To"] = delivery.target
        message["Subject"] = " ".join((delivery.subject or "").split())
        message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        message[DEDUP_HEADER] = delivery.dedup_key
        domain = parseaddr(self.smtp_from)[1].rpartition("@")[2] or "localhost"
        digest = hashlib.sha256(delivery.dedup_key.encode("utf-8")).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{domain}>"
        message.set_content(delivery.body or "")
        html = (delivery.payload or {}).get("html")
        if isinstance(html, str) and html:
            message.add_alternative(html, subtype="html")
        return message

    def send_email(self, delivery) -> None:
        """Send over an open SMTP session when one is idle (at most `SMTP_IDLE_SECONDS` old),
        else over a new one; a reused session the server has closed meanwhile is replaced once.
        A session is kept only after a send it carried through (any error closes it)."""
        try:
            message = self.build_email(delivery)
        except (ValueError, TypeError) as exc:  # e.g. a line break in a header
            raise DeliveryFailed(f"malformed e-mail: {exc}", permanent=True) from None
        smtp = self._idle_smtp()
        if smtp is not None:
            try:
                self._send_on(smtp, message)
                self._keep_smtp(smtp)
                return
            except DeliveryFailed as failed:
                _close_smtp(smtp)
                if failed.scope != "email":  # the message, not the session: no second try
                    raise
            except BaseException:
                _close_smtp(smtp)
                raise
        smtp = self._open_smtp()
        try:
            self._send_on(smtp, message)
        except BaseException:
            _close_smtp(smtp)
            raise
        self._keep_smtp(smtp)

    def _open_smtp(self) -> smtplib.SMTP:
        server = f"{self.smtp_host}:{self.smtp_port}"
        try:
            smtp = smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.smtp_timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP server {server} unreachable: {_describe(exc)}",
                                 scope="email") from None
        try:
            smtp.ehlo()
            if self.smtp_starttls:
                smtp.starttls()
                smtp.ehlo()
            if self.smtp_username:
                smtp.login(self.smtp_username, self.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            _close_smtp(smtp)
            raise DeliveryFailed(f"SMTP server {server} refused the session: "
                                 f"{_describe(exc)}", scope="email") from None
        return smtp

    def _send_on(self, smtp: smtplib.SMTP, message: EmailMessage) -> None:
        server = f"{self.smtp_host}:{self.smtp_port}"
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(f"SMTP server refused the recipient: {_describe(exc)}",
                                 permanent=all(500 <= c < 600 for c in codes)) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise DeliveryFailed(f"SMTP server {server} dropped the connection: "
                                 f"{_describe(exc)}", scope="email") from None
        except smtplib.SMTPException as exc:
            raise DeliveryFailed(f"SMTP server refused the message: {_describe(exc)}") \
                from None

    def _idle_smtp(self) -> smtplib.SMTP | None:
        with self._smtp_lock:
            while self._smtp_idle:
                smtp, since = self._smtp_idle.pop()
                if time.monotonic() - since < SMTP_IDLE_SECONDS:
                    return smtp
                _close_smtp(smtp, quit=True)
        return None

    def _keep_smtp(self, smtp: smtplib.SMTP) -> None:
        with self._smtp_lock:
            if len(self._smtp_idle) < SMTP_KEEP:
                self._smtp_idle.append((smtp, time.monotonic()))
                return
        _close_smtp(smtp, quit=True)

    # webhook --------------------------------------------------------------------------------

    def webhook_request(self, delivery, timestamp: int | None = None) -> tuple[bytes, dict]:
        """The body and headers of a webhook delivery (signed when it has a secret)."""
        body = json_body(delivery.payload)
        timestamp = int(time.time()) if timestamp is None else timestamp
        headers = {"Content-Type": "application/json", "User-Agent": "subscriber-portal",
                   TIMESTAMP_HEADER: str(timestamp), DEDUP_HEADER: delivery.dedup_key}
        if delivery.secret:
            headers[SIGNATURE_HEADER] = sign(delivery.secret, timestamp, body)
        return body, headers

    def send_webhook(self, delivery) -> None:
        """POST the signed JSON (`webhook_exchange`); returns on a 2xx answer, else raises
        `DeliveryFailed`. A refusal's first 200 characters go in the error only when they came
        from a public address: an allow-listed private service's answers stay private."""
        answer = self.webhook_exchange(delivery)
        if 200 <= answer.status < 300:
            return
        message = f"webhook {redact_url(delivery.target)} answered HTTP {answer.status}"
        if answer.public:
            excerpt = " ".join(bytes(answer.body).decode("utf-8", "replace")
                               [:WEBHOOK_EXCERPT_CHARS].split())
            message += f": {excerpt}" if excerpt else ""
        raise DeliveryFailed(message)

    def webhook_exchange(self, delivery) -> WebhookAnswer:
        """POST a webhook delivery and return what came back: the status, and for a non-2xx
        one at most `WEBHOOK_MAX_RESPONSE_BYTES` of the body (read as it streams, then the
        connection is closed).

        The host is resolved once and every address must be allowed (`targets.py`: public,
        or allow-listed), then the POST goes to one of those very addresses (TLS still checks
        the certificate against the host name), so the name cannot be rebound in between.
        One deadline (`WEBHOOK_TIMEOUT_SECONDS`) bounds all of it, not each socket operation:
        DNS, connect, TLS, the request and the answer; a body still coming at the deadline is
        cut there. Raises `DeliveryFailed`: permanent for a target that is not allowed, with
        the host's scope when it is unreachable or did not answer in time."""
        url = delivery.target or ""
        try:
            parts = urllib.parse.urlsplit(url)
            host, port = parts.hostname or "", parts.port
        except ValueError:
            raise DeliveryFailed("webhook URL is not valid", permanent=True) from None
        if parts.scheme not in ("http", "https") or not host:
            raise DeliveryFailed("webhook URL is not http(s)", permanent=True)
        port = port or (443 if parts.scheme == "https" else 80)
        body, headers = self.webhook_request(delivery)
        if parts.username is not None:
            credentials = f"{urllib.parse.unquote(parts.username)}:" \
                          f"{urllib.parse.unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(
                credentials.encode("utf-8")).decode("ascii")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        shown = redact_url(url)
        answer = WebhookAnswer()
        try:
            with green.deadline(self.webhook_timeout):
                addresses = self.targets.addresses(host, port)
                self._post(parts.scheme, host, port, addresses, path, body, headers, answer)
        except TargetRefused as refused:
            raise DeliveryFailed(f"webhook {shown} refused: {refused}", permanent=True) \
                from None
        except green.DeadlineExceeded:
            if answer.status is None:
                raise DeliveryFailed(f"webhook {shown} unreachable: no answer within "
                                     f"{self.webhook_timeout:g}s",
                                     scope=scope_of(delivery)) from None
            # the status came and the body was still coming: what was read is enough
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryFailed(f"webhook {shown} unreachable: {_describe(exc, url)}",
                                 scope=scope_of(delivery)) from None
        except UnicodeError:  # a host name IDNA cannot encode
            raise DeliveryFailed(f"webhook {shown} has a host name that is not valid",
                                 permanent=True) from None
        return answer

    def _post(self, scheme: str, host: str, port: int, addresses: list[str], path: str,
              body: bytes, headers: dict, answer: WebhookAnswer) -> None:
        """The exchange with the first of `addresses` that accepts a connection; fills
        `answer` as it goes (so a deadline mid-body keeps the status and what was read)."""
        name = host if literal_address(host) else host.encode("idna").decode("ascii")
        connection = None
        try:
            for n, address in enumerate(addresses):
                connection = (_PinnedHTTPS(name, port, address, self.webhook_timeout, self._tls)
                              if scheme == "https" else
                              _PinnedHTTP(name, port, address, self.webhook_timeout))
                try:
                    connection.connect()
                    break
                except OSError:
                    connection.close()
                    if n == len(addresses) - 1:
                        raise
            answer.public = special_kind(ipaddress.ip_address(address.split("%", 1)[0])) is None
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer.status = response.status
            if 200 <= response.status < 300:
                return  # delivered; its body is of no interest
            while len(answer.body) < WEBHOOK_MAX_RESPONSE_BYTES:
                chunk = response.read1(WEBHOOK_MAX_RESPONSE_BYTES - len(answer.body))
                if not chunk:
                    break
                answer.body += chunk
        finally:
            if connection is not None:
                connection.close()

    # bus ------------------------------------------------------------------------------------

    def _open_bus(self):
        if self._bus_channel is None or not self._bus_channel.is_open:
            self._close_bus()
            params = pika.URLParameters(self.amqp_uri)
            params.connection_attempts = 1
            params.socket_timeout = 5
            params.stack_timeout = 10
            params.blocked_connection_timeout = 10
            params.client_properties = {"connection_name": "notifier senders"}
            self._bus_connection = pika.BlockingConnection(params)
            channel = self._bus_connection.channel()
            channel.confirm_delivery()
            channel.exchange_declare(ALERTS_EXCHANGE, exchange_type="topic", durable=True)
            self._bus_channel = channel
        return self._bus_channel

    def _close_bus(self) -> None:
        connection, self._bus_connection, self._bus_channel = self._bus_connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception as exc:  # noqa: BLE001 - it is being dropped anyway
                log.debug("closing the bus connection: %r", exc)

    def send_bus(self, delivery) -> None:
        """Publish to `alerts` with routing key = the target, persistent, confirmed. Not
        `mandatory`: an alert nobody has bound a queue for is delivered to the exchange, which
        is all a bus channel promises (ops tools bind durable queues to keep every alert)."""
        body = json_body(delivery.payload)
        properties = pika.BasicProperties(
            content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent,
            message_id=delivery.dedup_key, timestamp=int(time.time()),
            type=getattr(delivery, "kind", None) or "alert",
            headers={DEDUP_HEADER.lower(): delivery.dedup_key})
        with self._bus_lock:
            for attempt in (1, 2):
                reused = self._bus_channel is not None
                try:
                    channel = self._open_bus()
                    channel.basic_publish(ALERTS_EXCHANGE, delivery.target, body, properties)
                    return
                except pika.exceptions.NackError:
                    raise DeliveryFailed("the broker refused the alert (nack)") from None
                except (pika.exceptions.AMQPError, OSError) as exc:
                    self._close_bus()
                    if reused and attempt == 1:
                        continue  # a connection that went stale while idle: one fresh try
                    raise DeliveryFailed(f"message bus unavailable: {_describe(exc)}",
                                         scope="bus") from None


class WebhookAnswer:
    """What a webhook answered, as far as it got."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.body = bytearray()
        self.public = False  # from a globally routable address (its body may be shown)


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to one given address for a host name: the Host header says the name, the socket
    goes to the address (nothing is resolved here)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to one given address: SNI and the certificate check use the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _describe(exc: BaseException, url: str | None = None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if url:  # an error may quote the URL (and so a webhook's credential)
        parts = urllib.parse.urlsplit(url)
        secret_part = parts.path + (f"?{parts.query}" if parts.query else "")
        text = text.replace(url, redact_url(url) or "")
        if secret_part not in ("", "/"):
            text = text.replace(secret_part, "/…")
    return text[:500]


class SendersProvider(DependencyProvider):
    """Injects the process's one `Senders` (built in setup(), closed at stop)."""

    senders: Senders

    def setup(self) -> None:
        self.senders = Senders(self.container.config)

    def stop(self) -> None:
        self.senders.close()

    def kill(self) -> None:
        self.senders.close()

    def get_dependency(self, worker_ctx) -> Senders:
        return self.senders
