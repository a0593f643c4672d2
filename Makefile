# make run: the app on http://127.0.0.1:8000 with SQLite and eager Celery (nothing to install).
# make test: ruff, then pytest against throw-away PostgreSQL and Redis (scripts/test.sh).

VENV := .venv
PY := $(VENV)/bin/python
# Re-install only when the requirements change.
STAMP := $(VENV)/.requirements-stamp

.PHONY: venv run test lint

venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_kp_record
	$(PY) scripts/local-admin.py
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py runserver 127.0.0.1:8000

# Extra pytest arguments: make test ARGS="-k consensus -x"
test: venv
	scripts/test.sh $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
