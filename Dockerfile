# Viewer web and worker image. Web: the default command; worker: `celery -A config worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/viewer-metrics

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY viewer ./viewer
COPY modes ./modes
COPY consumption ./consumption
COPY assessments ./assessments
COPY summaries ./summaries
COPY legacy ./legacy
COPY migration ./migration
COPY manage.py ./
RUN pip install . \
    && DJANGO_SECRET_KEY=build DJANGO_ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 viewer
USER viewer

EXPOSE 8000
# config/gunicorn.py: bind 0.0.0.0:8000, 2 workers, graceful timeout 30 s, metrics across workers.
CMD ["gunicorn", "config.wsgi", "-c", "config/gunicorn.py"]
