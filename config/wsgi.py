import logging
import os

from django.core.wsgi import get_wsgi_application

from config.tracing import tracing_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")

# Before the handler is built: Django's instrumentation adds a middleware (config/tracing.py).
tracing_setup(service="web")
application = get_wsgi_application()
# Python's warnings as log lines (JSON, like every other line), not bare text on stderr.
logging.captureWarnings(True)
