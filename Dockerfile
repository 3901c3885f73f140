# The Verifier application image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VERIFIER_VAR_DIR=/var/lib/verifier \
    MEDIA_ROOT=/data/media \
    PYTHONPATH=/app

RUN useradd --system --create-home --home-dir /home/verifier verifier \
    && mkdir -p /var/lib/verifier /data/media \
    && chown verifier:verifier /var/lib/verifier /data/media

WORKDIR /app
COPY pyproject.toml manage.py ./
COPY config ./config
COPY claims ./claims
COPY sources ./sources
COPY verifier ./verifier
# Installs the dependencies (and the packages); /app stays first on PYTHONPATH so every process
# (manage.py, gunicorn, celery) runs the same copy, templates included.
RUN pip install .

# Static files are part of the image; whitenoise serves them from STATIC_ROOT (VERIFIER_VAR_DIR/static).
# The key is a throwaway (accepted with DEBUG on only): settings need one to load, and no key file
# is left in the image.
RUN DEBUG=true SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /var/lib/verifier/celery-broker \
    && chown -R verifier:verifier /var/lib/verifier

USER verifier
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--config", "config/gunicorn.py", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
