"""Microservices of the portal; each sub-package is one service (plus `common`, the kernel)."""
