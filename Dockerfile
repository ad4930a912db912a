# Breach Desk image: one image for every process (web = daphne, notifier = run_notifier).
# docker-compose.yml builds it; see docs/live-stream.md ("Production stack").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BREACH_DESK_VAR_DIR=/data/var \
    MEDIA_ROOT=/data/media

# Typeset documents (WeasyPrint, incidents/legal/typeset.py) lay text out with Pango and
# HarfBuzz from Debian; the fonts come from PyPI packages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY incidents ./incidents
COPY notifier ./notifier
COPY frontend ./frontend
COPY locale ./locale
COPY manage.py ./
RUN pip install . \
    # Translations are compiled into the image; DJANGO_DEBUG=1 only lets settings load at build.
    && DJANGO_DEBUG=1 python manage.py compile_translations \
    && useradd --system --uid 10001 --home-dir /app breachdesk \
    && mkdir -p /data/var /data/media \
    && chown -R breachdesk /data

USER breachdesk
EXPOSE 8000
# Bind all interfaces inside the container only; compose publishes no web port (nginx in front).
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--websocket_connect_timeout", "30", "core.asgi:application"]
