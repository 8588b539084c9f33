"""gunicorn settings shared by `make run` and the load test.

`gunicorn -c platform/config/gunicorn_conf.py`, from the repository root.

Environment: HOST, PORT (bind), WEB_WORKERS (processes), WEB_THREADS (threads per process).
"""

import os
from pathlib import Path

chdir = str(Path(__file__).resolve().parent.parent)  # platform/: the Django apps' import root
wsgi_app = "config.wsgi"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# One process per core: requests are short and the GIL is shared only within a process.
workers = int(os.environ.get("WEB_WORKERS", os.cpu_count() or 2))
worker_class = "gthread"
# gunicorn's gthread worker hands each newly accepted connection to a pool thread, which waits
# up to 5 s for its first request. Clients that connect first and ask later (pollers, browsers'
# preconnects) so hold every thread at start. Measured, 50 clients polling once a second:
# with 4 threads a process, their first requests waited 0.3-1.0 s for a thread (p99 407 ms over
# 30 s, while the server spent p99 53 ms on each); with 16, p99 61 ms. A waiting thread costs
# no CPU; threads that do work share the process's GIL either way.
threads = int(os.environ.get("WEB_THREADS", 16))
# Import the app (torch, dlib, every view) once in the master and freeze it out of garbage
# collection (config/wsgi.py) before forking: shared pages, and no cold first request.
preload_app = True
# gunicorn answers a request line over this with its own plain-text 414; its default (4094) cut
# in below Django's URL_MAX_LENGTH (4096), whose 414 carries the API's JSON error body. 8190 is
# gunicorn's maximum: URLs between the two get the JSON answer, longer ones gunicorn's.
limit_request_line = 8190
