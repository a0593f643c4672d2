# One image for web (gunicorn), worker and beat (celery); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 kp
WORKDIR /app

# Requirements first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code stays owned by root: the app's user can read it but not change it.
COPY . .
# Production storage builds the hashed, compressed files; the key is needed only to load settings.
RUN DJANGO_ENV=production SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

USER kp
EXPOSE 8000
CMD ["gunicorn", "kp_tracker.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
