"""The published language: request bodies that the gateway (for their shape, and the OpenAPI
document) and the service that owns them (with its rules on top) both load, defined once here
so the two cannot drift. A schema is here when both sides need the same one; a rule that needs
the service's data (a taken name, a member who must be staff) stays in the service.

Names are the HTTP API's (they become the OpenAPI document's component names).
"""
