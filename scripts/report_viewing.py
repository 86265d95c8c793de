#!/usr/bin/env python3
"""Report viewing to the portal as a TV platform does: a runnable example for integrators.

A batch is `{"batch_id": "...", "records": [{"customer_id", "channel", "day": "YYYY-MM-DD",
"minutes"}]}` (at most 50,000 records; a batch id of at most 100 characters). The portal
stores daily sums per customer, channel and day; a batch id counts once, so sending a batch
again after a timeout or a crash is safe. Two ways in, the same effect:

1. RPC (answers what happened): the `insights` service's `report_viewing(batch_id, records)`
   over nameko's AMQP RPC. The answer counts the records: `stored`, `unknown_customers`,
   `unknown_channels`, `opted_out` (the customer switched the use of their viewing off),
   `too_old` (older than the retention), `invalid`; `status` is `accepted` or `duplicate`.
2. Event (fire and forget): publish the batch as JSON to the topic exchange `tv_platform.events`
   with routing key `viewing_reported`, content type application/json, persistent. This is how
   nameko's `@event_handler("tv_platform", "viewing_reported")` receives events; any AMQP client
   can publish it (here: pika, with publisher confirms and `mandatory`, so a message nobody
   would receive is an error rather than lost). No answer comes back: read the counts from the
   logs, or send the same batch by RPC afterwards (it answers `duplicate` with the counts).

    scripts/report_viewing.py --customer cus_123 --channel "News 24" --minutes 45
    scripts/report_viewing.py --via event --file batch.json
    scripts/report_viewing.py --via both --customer cus_123 --days 7 --batch-id b-2026-12-04

AMQP_URI (default amqp://guest:guest@localhost:5672/) says where the broker is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import sys
import uuid

EXCHANGE = "tv_platform.events"
ROUTING_KEY = "viewing_reported"


def example_batch(customer: str, channel: str, days: int, minutes: int) -> dict:
    today = dt.datetime.now(dt.UTC).date()
    return {"batch_id": f"example-{uuid.uuid4().hex[:12]}", "records": [
        {"customer_id": customer, "channel": channel,
         "day": (today - dt.timedelta(days=back)).isoformat(), "minutes": minutes}
        for back in range(1, days + 1)]}


def by_rpc(amqp_uri: str, batch: dict) -> dict:
    """The RPC way: nameko's standalone proxy; the answer says what was stored."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=60) as cluster:
        return cluster.insights.report_viewing(batch["batch_id"], batch["records"])


def by_event(amqp_uri: str, batch: dict) -> None:
    """The event way: a plain AMQP publish, as nameko's event dispatcher would make it."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        # the exchange nameko declares for the source "tv_platform" (same arguments)
        channel.exchange_declare(exchange=EXCHANGE, exchange_type="topic", durable=True)
        channel.confirm_delivery()  # basic_publish raises if the broker did not take it
        channel.basic_publish(
            exchange=EXCHANGE, routing_key=ROUTING_KEY, mandatory=True,
            body=json.dumps(batch).encode(),
            properties=pika.BasicProperties(content_type="application/json",
                                            content_encoding="utf-8", delivery_mode=2))
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Report viewing to the portal's insights service, by RPC or as the "
                    "tv_platform.viewing_reported event.",
        epilog=__doc__.split("\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--via", choices=("rpc", "event", "both"), default="rpc",
                        help="rpc answers the counts; event publishes and returns; both sends "
                             "the event, then the same batch by RPC (whichever the service "
                             "takes first counts, the other is a duplicate)")
    parser.add_argument("--file", type=pathlib.Path,
                        help="a JSON batch {batch_id, records}; else an example batch is made")
    parser.add_argument("--batch-id", help="the batch's id (default: a new one)")
    parser.add_argument("--customer", default="cus_demo", help="example batch: the customer id")
    parser.add_argument("--channel", default="News 24", help="example batch: the channel")
    parser.add_argument("--days", type=int, default=7, help="example batch: days back")
    parser.add_argument("--minutes", type=int, default=60, help="example batch: minutes a day")
    parser.add_argument("--amqp-uri", default=os.environ.get(
        "AMQP_URI", "amqp://guest:guest@localhost:5672/"))
    args = parser.parse_args(argv)
    batch = (json.loads(args.file.read_text()) if args.file else
             example_batch(args.customer, args.channel, args.days, args.minutes))
    if args.batch_id:
        batch["batch_id"] = args.batch_id
    if args.via in ("event", "both"):
        by_event(args.amqp_uri, batch)
        print(f"published {batch['batch_id']} ({len(batch['records'])} records) to "
              f"{EXCHANGE} / {ROUTING_KEY}")
    if args.via in ("rpc", "both"):
        print(json.dumps(by_rpc(args.amqp_uri, batch), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
