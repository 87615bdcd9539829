#!/usr/bin/env bash
# Makes a Django deployment for the e2e test of the Django import
# (tests/e2e/cases/django.rs): a Python 3.11 virtual environment with
# tests/django/requirements.txt from PyPI, made once under
# target/django-venv and reused while requirements.txt is unchanged, then
# tests/django/deployment.py, which writes the Django database and a JSON
# file of what it made.
#
#   tests/django/make_deployment.sh OUT.json sqlite PATH/db.sqlite3
#   tests/django/make_deployment.sh OUT.json postgres URL SCHEMA
#
# Bounded in time: the venv is given DJANGO_VENV_TIMEOUT seconds (600), the
# script 300. Exits non-zero when either cannot be done.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/django-venv"
python="${DJANGO_PYTHON:-python3.11}"
mkdir -p "$target"
stamp="$(sha256sum "$here/requirements.txt" | cut -c1-16)"
(
  # One maker at a time: the tests run in parallel.
  flock 9
  if [ "$(cat "$venv/.made" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$venv"
    timeout "${DJANGO_VENV_TIMEOUT:-600}" "$python" -m venv "$venv"
    timeout "${DJANGO_VENV_TIMEOUT:-600}" "$venv/bin/pip" install --quiet \
      --disable-pip-version-check -r "$here/requirements.txt"
    echo "$stamp" > "$venv/.made"
  fi
) 9>"$target/django-venv.lock"
exec timeout 300 "$venv/bin/python" "$here/deployment.py" "$@"
