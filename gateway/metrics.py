"""Prometheus metrics of the gateway: requests per route. They share the process's registry
(`services.common.observability.REGISTRY`) with what every service reports: the work done per
entrypoint, and the RPC calls made (`portal_rpc_duration_seconds`, per service called)."""

from prometheus_client import Counter, Histogram

from services.common.observability import BUCKETS, REGISTRY, exposition  # noqa: F401 - re-exported

REQUESTS = Counter("portal_http_requests_total", "HTTP requests handled",
                   ["route", "method", "status"], registry=REGISTRY)
REQUEST_SECONDS = Histogram("portal_http_request_duration_seconds", "HTTP request latency",
                            ["route", "method"], buckets=BUCKETS, registry=REGISTRY)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)
