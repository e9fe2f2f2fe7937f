# Serve WSGI (config/wsgi.py) in production: sync Django under ASGI was measured 5x slower.
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")

application = get_asgi_application()
