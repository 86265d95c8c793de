"""The vouchers service: stored-value vouchers from batch to wallet.

RPC (errors are `services.common.errors` kinds):
- create_batch(request {type: print, value, count, valid_until, valid_from?, restriction?,
  description?}, actor, idempotency_key=None) → batch (`created`; its vouchers are generated
  in chunks, then `active`; once per key) · list_batches(limit, cursor) · get_batch(batch_id)
- get_voucher(serial) (ops: state, batch, who redeemed it; never the code)
- void_batch(batch_id, request {reason}, actor) · void_voucher(serial, request {reason}, actor)
- start_export(batch_id, actor) → {export_id, rows, batch} · export_page(batch_id, after,
  limit) → {rows: [[serial, code, value, currency, valid_until]], next}: a print batch's CSV,
  page by page (the gateway streams it)
- redeem(customer_id, code, account {currency, billing_type}, client) → redemption (once per
  voucher; wrong codes throttled per account and client address: RateLimited)
- redemptions(customer_id, limit, cursor) · throttle_events(limit, cursor) (ops): pages
- list_offers(language=None) (whole: the offers on sale, named in `language`) ·
  get_offer(code) · create_offer(request) · retire_offer(code) (ops)
- issue_online(purchase_id, offer_code, buyer_id) → {code, serial, value, valid_until}: the
  voucher a card payment bought (billing takes the payment)
- export_customer(customer_id) → {service, data: {redemptions, vouchers_bought,
  throttle_counters, throttle_events}, files: []} · forget_customer(customer_id, pseudonym) →
  {service, forgotten: {throttle_counters}, kept: {redemptions, vouchers_bought,
  throttle_events}}: a customer's data (issue #18; vouchers holds no name or contact details,
  only the customer id: privacy.py)
- health()
Events: voucher_batch_created, voucher_batch_voided, voucher_batch_exported, voucher_voided,
voucher_redeemed (billing credits the wallet from it if it missed the answer),
voucher_purchased, voucher_guessing_throttled; it consumes its own voucher_batch_chunk_ready.
Each entrypoint ends its unit of work (one transaction; the modules flush): a refused
redemption commits the wrong guess it counted before it answers.
"""

from __future__ import annotations

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy import text

from services.common import config as keys
from services.common import errors, idempotency
from services.common.clock import ClockProvider
from services.common.db import Database, unit_of_work
from services.common.events import event_handler
from services.common.observability import Observability
from services.common.rpc import rpc
from services.vouchers import batches, events, offers, privacy, redemption
from services.vouchers.codes import CodeKeys
from services.vouchers.models import MIGRATIONS, Base

EXPECTED = (errors.ServiceError,)


class VoucherKeys(DependencyProvider):
    """The keys that make and find codes, from VOUCHER_SECRET_KEY. The service refuses to start
    without it, and (outside DEMO_MODE) with a published default or a short one: whoever knows
    it can compute every code from a database dump."""

    def setup(self) -> None:
        self.keys = CodeKeys(keys.secret(self.container.config, keys.VOUCHER_SECRET_KEY,
                                         "the key voucher codes are made and found with"))

    def get_dependency(self, worker_ctx) -> CodeKeys:
        return self.keys


class VouchersService:
    name = "vouchers"
    observability = Observability()  # health, metrics, correlation ids

    db = Database(Base.metadata, MIGRATIONS)
    clock = ClockProvider()
    codes = VoucherKeys()
    config = Config()

    @property
    def _chunk_size(self) -> int:
        return int(self.config.get(keys.VOUCHER_CHUNK_SIZE) or batches.CHUNK_SIZE)

    # batches (ops)
    @rpc(expected_exceptions=EXPECTED)
    def create_batch(self, request, actor, idempotency_key=None):
        """With an idempotency key (the gateway requires one), one batch per key: a repeat
        answers the batch the first call made (as it was then), another request under the key
        is Conflict(IDEMPOTENCY_KEY_REUSED). Concurrent twins: the key's record is written in
        the batch's transaction, so one commits and the other answers its outcome."""
        now = self.clock.now()
        if idempotency_key is None:
            with unit_of_work(self.db):
                return batches.create(self.db, request, actor, now, self._chunk_size)
        scope = "voucher-batch"
        idempotency.check_key(idempotency_key)
        for _ in range(2):
            earlier = idempotency.stored(self.db, scope, idempotency_key, request)
            self.db.rollback()
            if earlier is not idempotency.MISSING:
                return earlier
            with unit_of_work(self.db):
                made = batches.create(
                    self.db, request, actor, now, self._chunk_size,
                    once=lambda batch: idempotency.record(
                        self.db, scope=scope, key=idempotency_key, request=request, now=now,
                        response=batch))
            if made is not None:
                return made
        raise errors.ServiceUnavailable("The batch is being created; try again.")

    @event_handler("vouchers", events.VOUCHER_BATCH_CHUNK_READY)
    def on_chunk_ready(self, payload):
        """A chunk of a new batch, taken by whichever instance is free; an error puts it back
        on the queue (the chunk is one transaction; repeating it is a no-op)."""
        chunk = payload["chunk"]
        with unit_of_work(self.db):
            batches.generate_chunk(self.db, self.codes, chunk["batch_id"], chunk["index"],
                                   self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def list_batches(self, limit=20, cursor=None):
        return batches.page(self.db, self.clock.now(), limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def get_batch(self, batch_id):
        return batches.dump(batches.find(self.db, batch_id), self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def void_batch(self, batch_id, request, actor):
        with unit_of_work(self.db):
            return batches.void_batch(self.db, batch_id, request, actor,
                                      self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def get_voucher(self, serial):
        return batches.lookup(self.db, serial, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def void_voucher(self, serial, request, actor):
        with unit_of_work(self.db):
            return batches.void_voucher(self.db, serial, request, actor,
                                        self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def start_export(self, batch_id, actor):
        with unit_of_work(self.db):
            return batches.start_export(self.db, batch_id, actor, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def export_page(self, batch_id, after=None, limit=10_000):
        return batches.export_page(self.db, self.codes, batch_id, after,
                                   max(1, min(int(limit), 20_000)))

    # redemption
    @rpc(expected_exceptions=EXPECTED)
    def redeem(self, customer_id, code, account, client=None):
        # a refusal keeps what it counted (a wrong guess, a block)
        with unit_of_work(self.db, keep=(errors.ServiceError,)):
            return redemption.redeem(self.db, self.codes, customer_id, code, account, client,
                                     self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def redemptions(self, customer_id, limit=20, cursor=None):
        return redemption.history(self.db, customer_id, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def throttle_events(self, limit=20, cursor=None):
        return redemption.throttle_events(self.db, limit, cursor)

    # online vouchers
    @rpc(expected_exceptions=EXPECTED)
    def list_offers(self, language=None):
        return offers.list_offers(self.db, language)

    @rpc(expected_exceptions=EXPECTED)
    def get_offer(self, code):
        return offers.get_offer(self.db, code)

    @rpc(expected_exceptions=EXPECTED)
    def create_offer(self, request):
        with unit_of_work(self.db):
            return offers.create_offer(self.db, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def retire_offer(self, code):
        with unit_of_work(self.db):
            return offers.retire_offer(self.db, code)

    @rpc(expected_exceptions=EXPECTED)
    def issue_online(self, purchase_id, offer_code, buyer_id):
        with unit_of_work(self.db):
            return offers.issue_online(self.db, self.codes, purchase_id, offer_code,
                                       buyer_id, self.clock.now())

    # data protection (issue #18): accounts' deletion saga asks these
    @rpc(expected_exceptions=EXPECTED)
    def export_customer(self, customer_id):
        return privacy.export(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def forget_customer(self, customer_id, pseudonym, personal=None):
        """`personal` is accepted for the saga's one call shape and unused: vouchers holds no
        name or contact details. One transaction; a repeat deletes nothing more."""
        with unit_of_work(self.db):
            return privacy.forget(self.db, customer_id, pseudonym)

    @rpc
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
