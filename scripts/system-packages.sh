#!/usr/bin/env bash
# Bring the Debian packages the test run drives for real: Chromium (browser tests), PostgreSQL 15,
# Redis (shared rate limit), gettext (catalogue check), openssl (the TLS receiver test) and
# Node.js with npm (the OpenID Connect provider of the sign-in tests, tests/idp).
# Installs what is missing when it can (root with apt-get) and says so; otherwise it says which
# parts will be skipped, loudly.
set -uo pipefail
need=()
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v msgfmt >/dev/null 2>&1 || need+=(gettext)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing what this machine lacks for the test run: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit $?
fi
echo "!!!!! missing ${need[*]} and cannot install them here (needs root and apt-get):"
echo "!!!!! the parts that use them are SKIPPED !!!!!"
exit 0
