"""accounts: customers, credentials, sessions, portal links, roles and team membership."""
