"""The shared kernel: the only package every service (and the gateway) may import.

It holds mechanisms, never business rules: the database provider and migrations (`db`), the
clock (`clock`), money (`money`), ids (`ids`), the event envelope and idempotent handlers
(`events`), the transactional outbox (`outbox`), the idempotency-key store (`idempotency`),
typed errors that cross RPC (`errors`), configuration keys (`config`) and the one place that
knows about eventlet (`green`).
"""
