"""The HTTP contract's bodies (API.md), one module per API area as in `gateway/views/` (shared
fields and bodies in `common`). Requests are loaded with these, responses dumped with them, and
the OpenAPI document is generated from them."""
