"""A real gunicorn serving a real PostgreSQL and Redis of the test's own, which the tests
stop and start again (config/service_unavailable.py, config/health.py)."""
