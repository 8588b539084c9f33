"""The Celery application. Start a worker with `celery --workdir platform -A config worker`.

Detection has its own queue, so a detection worker (`-Q detection`) holds the registry (packed
codewords and PDQ hashes, ~430 MB at 10^6 outputs) and a generation worker never does: each
loads only what its own tasks use.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

DETECTION_QUEUE = "detection"  # detection.tasks.DETECTION_QUEUE (config imports no app)

app = Celery("platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = {"detection.*": {"queue": DETECTION_QUEUE}}
app.autodiscover_tasks()
