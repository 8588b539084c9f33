"""WSGI entry point (`gunicorn --chdir platform config.wsgi`)."""

import gc
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

# Import every view now, not on each worker's first request: measured, a fresh worker's first
# job-status poll took 3.8 s (the views' imports), against 12 ms after. With gunicorn --preload
# this happens once, in the master, before the workers fork.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018 - evaluated for its imports

# The imports above leave ~260,000 long-lived objects (torch, dlib, Django), which every full
# garbage collection walked (270 ms each): measured, one poll in about 110 paused 300-360 ms.
# Freezing them takes them out of collection (and keeps the forked workers' pages shared).
gc.freeze()
