#!/usr/bin/env bash
# make fuzz: serve the app with gunicorn on a free loopback port, against $DATABASE_URL (CI's fresh
# database) or else a throwaway SQLite file, with the demo data loaded; then schemathesis sends
# generated requests to every operation of /api/schema/, once per demo user in FUZZ_USERS (each
# with their own token, so every role's paths run), and fails on any 5xx or any response that
# breaks the schema.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
EXAMPLES="${FUZZ_EXAMPLES:-20}"
USERS="${FUZZ_USERS:-coordinator chair pathologist}"
SEED="${FUZZ_SEED:-20261125}"

export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-fuzz-only-not-secret}"
export TUMORBOARD_AUDIT_KEY="${TUMORBOARD_AUDIT_KEY:-fuzz-only-audit-key}"
export DJANGO_DEBUG=0
# gunicorn serves plain HTTP on loopback here; production redirects to HTTPS.
export DJANGO_SECURE_SSL_REDIRECT=0
# Generated traffic is far above any human rate: lift the throttles for this run only.
export TUMORBOARD_API_USER_RATE=1000000/min TUMORBOARD_API_ANON_RATE=1000000/min TUMORBOARD_API_LOGIN_RATE=1000000/min
# Likewise the login lockout: schemathesis learns the demo usernames from responses and sends them
# with generated passwords, which would lock the next user out before their own token is taken.
export TUMORBOARD_LOGIN_FAILURE_LIMIT=1000000 TUMORBOARD_LOGIN_ADDRESS_LIMIT=1000000 TUMORBOARD_LOGIN_ADDRESS_DELAY_AFTER=1000000
mkdir -p var
if [ -z "${DATABASE_URL:-}" ]; then
  export TUMORBOARD_VAR_DIR="$PWD/var/fuzz"
  rm -rf "$TUMORBOARD_VAR_DIR"
  mkdir -p "$TUMORBOARD_VAR_DIR"
fi

$PY manage.py migrate --noinput -v0
$PY manage.py load_demo --force | tail -n 1

port="$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"
log="var/fuzz-server.log"
# The app's own log (Django's tracebacks) goes to the workers' stderr: keep it with gunicorn's.
.venv/bin/gunicorn tumorboard.wsgi --bind "127.0.0.1:${port}" --workers 2 --timeout 60 \
  --access-logfile /dev/null --error-logfile "$log" >>"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

# Wait for the server, then take a token the way an integration would.
take_token() {
  $PY - "$base" "$1" <<'PY'
import json, sys, time, urllib.request

base, username = sys.argv[1], sys.argv[2]
for _ in range(120):
    try:
        urllib.request.urlopen(base + "/login/", timeout=2)
        break
    except OSError:
        time.sleep(0.5)
body = json.dumps({"username": username, "password": "tumorboard-demo"}).encode()
request = urllib.request.Request(base + "/api/v1/auth/token/", body, {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=10))["token"])
PY
}

# Logout and sign-out-everywhere are left out: either would revoke the token the rest of the run uses, and
# every later request would test only the 401 (tests/test_api_auth.py and tests/test_credentials.py cover them).
# A run in which operations answer only 401 fails: the token died, and it would have fuzzed the refusal, not
# the API (only 403 is expected of some operations: a pathologist may not publish an agenda).
status=0
for user in $USERS; do
  echo "== schemathesis as ${user}"
  token="$(take_token "$user")"
  # The schema is for signed-in users: fetch it with the token, then fuzz the live server from the file.
  schema="var/fuzz-schema-${user}.json"
  $PY -c 'import sys, urllib.request; r = urllib.request.Request(sys.argv[1], headers={"Authorization": "Token " + sys.argv[2]}); open(sys.argv[3], "wb").write(urllib.request.urlopen(r, timeout=30).read())' \
    "${base}/api/schema/?format=json" "$token" "$schema"
  .venv/bin/schemathesis --no-color --config-file scripts/fuzz-api.toml run "$schema" --url "$base" \
    --header "Authorization: Token ${token}" \
    --checks not_a_server_error,response_schema_conformance \
    --exclude-path /api/v1/auth/logout/ --exclude-path /api/v1/auth/sign-out-everywhere/ \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers 2 \
    --request-timeout 30 2>&1 | tee "var/fuzz-${user}.log" || status=$?
  if grep -q "401 Unauthorized (" "var/fuzz-${user}.log"; then
    echo "fuzz: as ${user}, operations answered only 401: the token stopped working during the run" >&2
    status=1
  fi
done

if grep -q "Traceback" "$log"; then
  echo "The server logged tracebacks during the fuzz run (see $log):" >&2
  grep -B2 -A20 "Traceback" "$log" | head -n 80 >&2
  status=1
fi
exit "$status"
