#!/usr/bin/env bash
# `make loadtest`: the dashboard as a deployment runs it — gunicorn with 4 workers, a task
# worker, PostgreSQL (a throwaway cluster; SQLite when PostgreSQL cannot be had) — with the
# archive filled the way a deployment has it (the demo account harvested: every record it
# holds, 7 days), then two scenarios of DURATION seconds each:
#   1. 50 people browsing the pages people use (scripts/loadtest.py);
#   2. the same 50 while 4 more people export 90 days of CSV (each: the file made in the
#      background, downloaded, 30 s spent with it, and again).
# Prints per-path counts and latencies for both; exits non-zero, loudly, on any response that
# is not 2xx/3xx.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export DURATION=${DURATION:-120}
if [ -z "${DATABASE_URL:-}" ] && [ -z "${LOADTEST_NO_POSTGRES:-}" ]; then
  # run this same script again inside a throwaway PostgreSQL cluster (exit 3: none here)
  set +e
  LOADTEST_NO_POSTGRES=1 bash scripts/with-postgres.sh bash "$0" "$@"
  rc=$?
  set -e
  [ $rc != 3 ] && exit $rc
  echo "(PostgreSQL could not be had: the load test runs on SQLite)"
fi
tmp=$(mktemp -d /tmp/dashboard-load.XXXXXX)
export DEBUG=false SECRET_KEY="loadtest-$(head -c 24 /dev/urandom | base64)" ALLOWED_HOSTS=127.0.0.1
export SECURE_SSL_REDIRECT=false LOG_LEVEL=WARNING EXPORT_DIR="$tmp/exports"
export DATABASE_URL=${DATABASE_URL:-"sqlite:///$tmp/dashboard.sqlite3"}
export SANDBOX_DATABASE_URL="sqlite:///$tmp/sandbox.sqlite3"
export LIVE_SANDBOX_BIG_DOMAIN_RECORDS=${LIVE_SANDBOX_BIG_DOMAIN_RECORDS:-200000}
export ARCHIVE_HARVEST_WORKERS=4
echo "== database: ${DATABASE_URL%%:*}"
"$PY" manage.py migrate -v0
"$PY" manage.py migrate --database sandbox -v0
"$PY" manage.py sandbox_seed
"$PY" manage.py sync_domains -v0
"$PY" manage.py collectstatic --noinput -v0
echo "== filling the archive: the demo account harvested"
"$PY" manage.py harvest_records -v0
"$PY" manage.py shell -c "
import datetime as dt
from django.utils import timezone
from dashboard.archive.models import ArchivedRecord
from dashboard.sandbox.models import SandboxNotifyRecord
held = SandboxNotifyRecord.objects.count()
served = SandboxNotifyRecord.objects.filter(notify_time__gte=timezone.now() - dt.timedelta(days=7)).count()
archived = ArchivedRecord.objects.count()
print(f'archive: {archived:,} records; the demo account holds {held:,}, {served:,} of them in the 7 days its API serves')
if archived < served * 0.99:
    raise SystemExit('the archive holds fewer records than the demo account serves: harvest failed?')
"
sessions=$("$PY" manage.py shell -c "
from django.contrib.auth.models import User, Group
from importlib import import_module
from django.conf import settings
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from dashboard.accounts.roles import ensure_roles
from dashboard.archive.models import ArchivedRecord
ensure_roles()
for name in ['loadtest', 'exporter1', 'exporter2', 'exporter3', 'exporter4']:
    u, _ = User.objects.get_or_create(username=name)
    u.groups.set([Group.objects.get(name='Viewer')])
    s = SessionStore()
    s[SESSION_KEY] = str(u.pk); s[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create()
    print('session ' + name + ' sessionid=' + s.session_key)
for pk in ArchivedRecord.objects.order_by('?').values_list('pk', flat=True)[:20]:
    print('record /records/%d/' % pk)
")
cookie=$(echo "$sessions" | awk '/^session loadtest /{print $3}')
exporters=()
for c in $(echo "$sessions" | awk '/^session exporter/{print $3}'); do exporters+=(--exporter "$c"); done
records=()
for r in $(echo "$sessions" | awk '/^record /{print $2}'); do records+=(--record "$r"); done
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$(dirname "$PY")/gunicorn" dashboard.wsgi --workers 4 --bind "127.0.0.1:$port" --log-level warning &
gunicorn=$!
"$PY" manage.py db_worker --queue-name '*' --no-reload --no-startup-delay --interval 0.5 >/dev/null 2>"$tmp/worker.log" &
worker=$!
trap 'kill $gunicorn $worker 2>/dev/null; wait $gunicorn $worker 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/accounts/login/" && break; sleep 0.2; done
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$port/domains/")
[ "$status" = 200 ] || { echo "!!!!! signed-in check failed: HTTP $status !!!!!" >&2; exit 1; }
echo "== machine: $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ)"
rc=0
"$PY" scripts/loadtest.py --base "http://127.0.0.1:$port" --cookie "$cookie" "${records[@]}" \
  --users 50 --duration "$DURATION" --json "$tmp/plain.json" || rc=1
"$PY" scripts/loadtest.py --base "http://127.0.0.1:$port" --cookie "$cookie" "${records[@]}" \
  --users 50 --duration "$DURATION" "${exporters[@]}" --think 30 --json "$tmp/exports.json" || rc=1
"$PY" - "$tmp/plain.json" "$tmp/exports.json" <<'EOF'
import json, sys
plain, busy = (json.load(open(p)) for p in sys.argv[1:])
print(f"\n== summary: 50 users p95 {plain['p95_ms']:.0f} ms ({plain['requests'] / plain['seconds']:.0f} req/s); "
      f"with 4 exporters the same users' p95 {busy['p95_ms']:.0f} ms ({busy['requests'] / busy['seconds']:.0f} req/s)")
EOF
exit $rc
