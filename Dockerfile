# The application image: web (gunicorn, the default command), Celery worker and beat
# (docker-compose.yml gives them their own commands).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings

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

# A shell only to read PORT and WEB_CONCURRENCY; `exec` makes gunicorn PID 1, so it receives
# SIGTERM from `docker stop` and shuts down gracefully.
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-2} --worker-class gthread --threads ${WEB_THREADS:-4} --access-logfile - --access-logformat '%(h)s %(t)s \"%(m)s %(U)s\" %(s)s %(b)s %(M)sms' --worker-tmp-dir /dev/shm"]
