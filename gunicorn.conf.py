"""gunicorn's settings, written once: `make run` (the Procfile), the Dockerfile, docker-compose.yml
and the benchmark all start `gunicorn -c gunicorn.conf.py config.wsgi:application` and differ
only in their environment.

PORT (8000) and WEB_BIND_HOST (127.0.0.1; the image sets 0.0.0.0) say where it listens,
WEB_CONCURRENCY (2) and WEB_THREADS (4) how many workers and threads per worker it runs.
"""

import os

bind = [f"{os.environ.get('WEB_BIND_HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
# Threads overlap one request's database waits with another's Python, and keep clients'
# connections alive (sync workers close each one): README "Performance".
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 4)

accesslog = "-"
# The path without its query string: queries may carry a patient's name (?search=).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

# A request still running this long after SIGTERM is cut off: within `docker stop`'s 10 s and
# the launcher's stop grace, so that gunicorn ends on its own rather than being killed.
graceful_timeout = 8

# Workers' heartbeat files in memory: on a container's overlay filesystem (or a slow disk) an
# fsync-bound heartbeat can stall a worker long enough for the arbiter to kill it.
if os.path.isdir("/dev/shm"):  # noqa: S108 - shared memory, not a world-writable temp dir
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# No control socket: nothing here uses gunicornc, and its default path is one per user, which
# two servers on one machine (make run, the tests, the benchmark) would fight over.
control_socket_disable = True
