"""Tail a team's alerts from the message bus.

    python -m services.notifier.tail_alerts --team network [--severity critical] [--json]
        [--amqp-uri amqp://guest:guest@127.0.0.1:5672/] [--count N]

Declares an exclusive, auto-delete queue bound to the `alerts` topic exchange with
`<team>.<severity>` (`<team>.*` without `--severity`; `--team '*'` for every team) and prints
each alert on one line (time, severity, team, title: text), or the raw JSON with `--json`,
until Ctrl-C (or `--count` alerts). The broker address comes from `--amqp-uri`, else the
`AMQP_URI` environment variable (the one deploy/config.yaml reads), else the local default.

The queue lives only while the command runs: alerts published while nobody tails are not kept
(an ops tool that must see every alert binds its own durable queue to `alerts`). Plain pika,
no nameko, no eventlet. Prints "listening on alerts: <binding>" on stderr once bound.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse

import pika

EXCHANGE = "alerts"  # services/notifier/senders.py ALERTS_EXCHANGE (not imported: no nameko)
SEVERITIES = ("critical", "warning", "info")
DEFAULT_URI = "amqp://guest:guest@127.0.0.1:5672/"


def _say(stream, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


def binding_key(team: str, severity: str | None) -> str:
    return f"{team}.{severity or '*'}"


def format_line(body: bytes, routing_key: str = "") -> str:
    """One line for a human: `<time> <SEVERITY> <team> <title>: <text>`."""
    try:
        alert = json.loads(body)["alert"]
        when = alert.get("created_at") or "-"
        severity = str(alert.get("severity") or "?").upper()
        title, text = str(alert.get("title") or ""), str(alert.get("text") or "")
        line = f"{when} {severity:<8} {alert.get('team') or '-'} {title}"
        if text:
            line += f": {text}"
    except (ValueError, KeyError, TypeError, AttributeError):
        line = f"? {routing_key} {body[:500].decode('utf-8', 'replace')}"
    return " ".join(line.split())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.notifier.tail_alerts",
        description="Print a team's alerts from the `alerts` exchange until Ctrl-C.")
    parser.add_argument("--team", required=True,
                        help="the team (a routing key word; '*' for every team)")
    parser.add_argument("--severity", choices=SEVERITIES,
                        help="only this severity (default: all)")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI") or DEFAULT_URI,
                        help="the broker (default: $AMQP_URI, else %(default)s)")
    parser.add_argument("--json", action="store_true", help="print each alert's raw JSON")
    parser.add_argument("--count", type=int, default=0,
                        help="exit after this many alerts (default: never)")
    args = parser.parse_args(argv)
    if not args.team or any(c in args.team for c in ".# \t") \
            or ("*" in args.team and args.team != "*"):
        parser.error("--team is one routing key word: no '.', '#' or spaces ('*' alone: all)")
    return args


def tail(args: argparse.Namespace, out=sys.stdout, err=sys.stderr) -> int:
    params = pika.URLParameters(args.amqp_uri)
    params.client_properties = {"connection_name": "tail_alerts"}
    connection = pika.BlockingConnection(params)
    received = 0
    try:
        channel = connection.channel()
        channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
        queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        key = binding_key(args.team, args.severity)
        channel.queue_bind(queue, EXCHANGE, routing_key=key)
        _say(err, f"listening on {EXCHANGE}: {key}")
        for method, _properties, body in channel.consume(queue, auto_ack=True):
            _say(out, body.decode("utf-8", "replace") if args.json
                 else format_line(body, method.routing_key))
            received += 1
            if args.count and received >= args.count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        try:
            connection.close()
        except pika.exceptions.AMQPError:
            pass  # already gone
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return tail(args)
    except KeyboardInterrupt:
        return 0
    except pika.exceptions.AMQPConnectionError as exc:
        where = urllib.parse.urlsplit(args.amqp_uri)
        _say(sys.stderr, f"cannot reach the broker at {where.hostname}:{where.port or 5672}: "
                         f"{exc!r}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
