"""One module per portal page or API area; each function composes one answer from RPC calls."""
