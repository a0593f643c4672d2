#!/usr/bin/env bash
# Lint, then run pytest against throw-away PostgreSQL and Redis. Arguments go to pytest:
#   scripts/test.sh -k consensus -x
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
[ -x "$venv/bin/pytest" ] || {
    echo "test.sh: $venv/bin/pytest not found; run 'make test', which creates the venv." >&2
    exit 2
}

"$venv/bin/ruff" check --quiet .
"$venv/bin/ruff" format --check --quiet .
exec scripts/test-services.sh "$venv/bin/pytest" "$@"
