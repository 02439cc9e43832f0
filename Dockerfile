# The application image: web (gunicorn, the default command), Celery worker and beat
# (docker-compose.yml gives them their own commands).
FROM python:3.11-slim

# WEB_BIND_HOST: gunicorn.conf.py listens on loopback unless told otherwise; in a container it
# must listen on every interface (docker-compose.yml publishes the port on the host's loopback).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    WEB_BIND_HOST=0.0.0.0

# The processes run as this unprivileged user; the code and static files stay owned by root,
# so a compromised process cannot rewrite them. A home directory is all it needs to write to.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .

# Settings need a secret key to load; this one exists only during this command and never
# reaches the image or a running container.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput \
    && python -m compileall -q .

# Numeric, so that orchestrators enforcing "run as non-root" can verify it.
USER 10001:10001

EXPOSE 8000

# Liveness only; the Host header is one Django accepts (the first of DJANGO_ALLOWED_HOSTS).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = os.environ.get('DJANGO_ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; r.urlopen(r.Request('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), headers={'Host': h}), timeout=5)"]

# gunicorn.conf.py reads PORT, WEB_CONCURRENCY and WEB_THREADS from the environment. Exec form,
# no shell: gunicorn is PID 1, so it receives SIGTERM from `docker stop` and shuts down gracefully.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi:application"]
