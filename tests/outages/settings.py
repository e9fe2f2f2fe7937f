"""Settings of the gunicorn the outage tests start: the test settings, pointed (through the
environment) at a PostgreSQL and a Redis of the tests' own, with persistent database
connections as production keeps them (the test settings turn them off), so that a kept
connection which died with the server is exercised too."""

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 600
