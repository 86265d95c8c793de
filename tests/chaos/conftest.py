"""The chaos tier runs in its own pytest process (plain Python, no eventlet): it starts the
whole system with two processes per service and breaks it on purpose. See test_chaos.py."""
