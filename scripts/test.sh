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

# The sign-in tests' identity provider (oidc-provider on Node.js), as package-lock.json pins it.
if [ ! -d tests/idp/node_modules/oidc-provider ]; then
  echo "== installing the test identity provider (npm ci in tests/idp)"
  (cd tests/idp && npm ci --no-audit --no-fund --silent) || status=1
fi

echo "== ruff check"
"$PY" -m ruff check . || status=1

browser_args=()
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  browser_args=(-m browser -q)
else
  echo "!!!!! Chromium not found at ${CHROMIUM:-/usr/bin/chromium}: the browser tests are SKIPPED !!!!!"
fi

# The SQLite run and the PostgreSQL run share nothing (their own databases, files named by
# process, servers on free ports), and each spends much of its time waiting on processes it
# started: they run side by side, each into its own log, shown whole when both are done. The
# browser tests come after, on PostgreSQL, with the machine to themselves.
logs=var/test-logs
rm -rf "$logs" && mkdir -p "$logs"
echo "== pytest on SQLite and on PostgreSQL, side by side"
"$PY" -m pytest -m "not browser" -q --junitxml="$results/sqlite.xml" "$@" >"$logs/sqlite.log" 2>&1 &
sqlite_run=$!

BROWSER=$([ ${#browser_args[@]} -gt 0 ] && echo 1 || echo 0) PY="$PY" LOGS="$logs" bash scripts/with-postgres.sh bash -c '
  set -u; rc=0
  "$PY" -m pytest -m "not browser" -q --junitxml='"$results"'/postgres.xml "$@" >"$LOGS/postgres.log" 2>&1 || rc=1
  wait_for_sqlite() { while [ ! -e "$LOGS/sqlite.done" ]; do sleep 1; done; }
  if [ "${BROWSER:-0}" = 1 ]; then
    wait_for_sqlite
    DJANGO_ALLOW_ASYNC_UNSAFE=true "$PY" -m pytest -m browser -q --junitxml='"$results"'/browser.xml "$@" >"$LOGS/browser.log" 2>&1 || rc=1
  fi
  exit $rc' _ "$@" &
pg_run=$!

wait "$sqlite_run" || status=1
touch "$logs/sqlite.done"
wait "$pg_run"
pg=$?
echo "== pytest on SQLite"
cat "$logs/sqlite.log"
if [ -e "$logs/postgres.log" ]; then
  echo "== pytest on PostgreSQL"
  cat "$logs/postgres.log"
fi
if [ -e "$logs/browser.log" ]; then
  echo "== browser tests (headless Chromium, PostgreSQL)"
  cat "$logs/browser.log"
fi
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
