#!/usr/bin/env bash
# `make test`: ruff, then pytest on SQLite, on a throwaway PostgreSQL, and in headless Chromium.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
results=var/test-results
rm -rf "$results" && mkdir -p "$results"
export PYTHONDONTWRITEBYTECODE=1
status=0

bash scripts/system-packages.sh || echo "!!!!! installing system packages failed: some parts may be SKIPPED !!!!!"

echo "== ruff check"
"$PY" -m ruff check . || status=1

echo "== pytest on SQLite"
"$PY" -m pytest -m "not browser" -q --junitxml="$results/sqlite.xml" "$@" || status=1

browser_args=()
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  browser_args=(-m browser -q)
else
  echo "!!!!! Chromium not found at ${CHROMIUM:-/usr/bin/chromium}: the browser tests are SKIPPED !!!!!"
fi

echo "== pytest on PostgreSQL (and the browser tests)"
BROWSER=$([ ${#browser_args[@]} -gt 0 ] && echo 1 || echo 0) PY="$PY" bash scripts/with-postgres.sh bash -c '
  set -u; rc=0
  "$PY" -m pytest -m "not browser" -q --junitxml='"$results"'/postgres.xml "$@" || rc=1
  if [ "${BROWSER:-0}" = 1 ]; then
    echo "== browser tests (headless Chromium, PostgreSQL)"
    DJANGO_ALLOW_ASYNC_UNSAFE=true "$PY" -m pytest -m browser -q --junitxml='"$results"'/browser.xml "$@" || rc=1
  fi
  exit $rc' _ "$@"
pg=$?
if [ $pg = 3 ]; then
  if [ ${#browser_args[@]} -gt 0 ]; then
    echo "== browser tests (headless Chromium, SQLite)"
    DJANGO_ALLOW_ASYNC_UNSAFE=true "$PY" -m pytest -m browser -q --junitxml="$results/browser.xml" "$@" || status=1
  fi
elif [ $pg != 0 ]; then
  status=1
fi
"$PY" scripts/test_summary.py "$results" || status=1
exit $status
