#!/usr/bin/env bash
# `make loadtest`: gunicorn (4 workers) on loopback with the embedded sandbox, 50 concurrent
# users browsing domains and records for 2 minutes (wrk), then the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DURATION=${DURATION:-120s}
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else
    echo "wrk is needed: sudo apt-get install wrk" >&2; exit 1; fi
fi
tmp=$(mktemp -d /tmp/dashboard-load.XXXXXX)
export DEBUG=false SECRET_KEY="loadtest-$(head -c 24 /dev/urandom | base64)" ALLOWED_HOSTS=127.0.0.1
export SECURE_SSL_REDIRECT=false LOG_LEVEL=WARNING
export DATABASE_URL="sqlite:///$tmp/dashboard.sqlite3" SANDBOX_DATABASE_URL="sqlite:///$tmp/sandbox.sqlite3"
export LIVE_SANDBOX_BIG_DOMAIN_RECORDS=${LIVE_SANDBOX_BIG_DOMAIN_RECORDS:-200000}
"$PY" manage.py migrate -v0
"$PY" manage.py migrate --database sandbox -v0
"$PY" manage.py sandbox_seed
"$PY" manage.py sync_domains -v0
"$PY" manage.py collectstatic --noinput -v0
cookie=$("$PY" manage.py shell -c "
from django.contrib.auth.models import User, Group
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from dashboard.accounts.roles import ensure_roles
ensure_roles()
u, _ = User.objects.get_or_create(username='loadtest')
u.groups.set([Group.objects.get(name='Viewer')])
s = SessionStore()
s[SESSION_KEY] = str(u.pk); s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'
s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create()
print('sessionid=' + s.session_key)
" | grep "^sessionid=" | tail -1)
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/gunicorn dashboard.wsgi --workers 4 --bind "127.0.0.1:$port" --log-level warning &
gunicorn=$!
trap 'kill $gunicorn 2>/dev/null; wait $gunicorn 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/accounts/login/" && break; sleep 0.2; done
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$port/domains/")
[ "$status" = 200 ] || { echo "signed-in check failed: HTTP $status" >&2; exit 1; }
echo "== wrk: 50 connections, $DURATION, gunicorn 4 workers on 127.0.0.1:$port"
LOADTEST_COOKIE="$cookie" wrk -t2 -c50 -d"$DURATION" --timeout 10s -s scripts/loadtest.lua "http://127.0.0.1:$port"
