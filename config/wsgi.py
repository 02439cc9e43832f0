"""WSGI entry point (gunicorn config.wsgi:application)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Everything loaded at start-up (every view, through the URL configuration) lives as long as the
# process: frozen out of the garbage collector's sight, a full collection scans only what
# requests leave behind. Unfrozen, each one walked ~270,000 objects, 90-125 ms during which
# every request of this worker waited (README "Performance").
get_resolver().url_patterns  # noqa: B018 - imports every view now, not at the first request
gc.freeze()
