"""Prometheus metrics of the gateway: requests per route and RPC latency per service."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry()
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter("portal_http_requests_total", "HTTP requests handled",
                   ["route", "method", "status"], registry=REGISTRY)
REQUEST_SECONDS = Histogram("portal_http_request_duration_seconds", "HTTP request latency",
                            ["route", "method"], buckets=BUCKETS, registry=REGISTRY)
RPC_SECONDS = Histogram("portal_rpc_duration_seconds", "RPC round trips from the gateway",
                        ["service", "method", "outcome"], buckets=BUCKETS, registry=REGISTRY)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def observe_rpc(service: str, method: str, outcome: str, seconds: float) -> None:
    RPC_SECONDS.labels(service, method, outcome).observe(seconds)


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
