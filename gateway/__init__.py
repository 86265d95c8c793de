"""The gateway: the portal's HTTP API and front end. It owns no data; it authenticates,
validates, calls the services by RPC with a deadline, and composes the portal's views."""
