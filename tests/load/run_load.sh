#!/usr/bin/env bash
# Bounded loopback load test: gunicorn (DEBUG off) on 127.0.0.1, wrk for a fixed duration per
# scenario, a throwaway database under a temporary VAR_DIR. Usage: tests/load/run_load.sh [secs]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-30}
# wrk (Debian) drives the load; installed here, as `make test` installs what the suite needs.
if ! command -v wrk >/dev/null; then
  SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
PORT=${PORT:-8765}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-16}
WORK=$(mktemp -d /tmp/loadtest.XXXXXX)
export VAR_DIR=$WORK DEBUG=0 PORT
# Rates are lifted for the test only: it measures the server, not the throttles.
export THROTTLE_USER=1000000/min THROTTLE_ANON=1000000/min THROTTLE_DETECTION=1000000/min
export AXES_FAILURE_LIMIT=1000000 LOG_LEVEL=WARNING
eval "$(.venv/bin/python tests/load/prepare_load_db.py "$WORK")"
export JOB_ID TOKEN IMAGE=$WORK/astronaut.png
# The production settings (make run's): platform/config/gunicorn_conf.py.
HOST=127.0.0.1 WEB_WORKERS=$WORKERS WEB_THREADS=$THREADS .venv/bin/gunicorn -c platform/config/gunicorn_conf.py \
  --log-level warning --pid "$WORK/gunicorn.pid" >"$WORK/gunicorn.log" 2>&1 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 1; done
URL="http://127.0.0.1:$PORT"
# Warm every worker (first requests import the generator and detector stacks), then check.
for _ in $(seq 12); do
  curl -s -o /dev/null -H "Authorization: Token $TOKEN" "$URL/api/v1/jobs/$JOB_ID"
  curl -s -o /dev/null -F "file=@$IMAGE;type=image/png" "$URL/api/v1/detections"
done
echo "status check: job $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Token $TOKEN" "$URL/api/v1/jobs/$JOB_ID")," \
  "detection $(curl -s -o /dev/null -w '%{http_code}' -F "file=@$IMAGE;type=image/png" "$URL/api/v1/detections")"
echo "== job-status polling, 50 clients each polling about once a second, ${SECS}s"
wrk -t2 -c50 -d"${SECS}s" --timeout 10s -s tests/load/poll_job_status.lua "$URL" | grep JSON
echo "== job-status polling, 50 clients back to back (saturation), ${SECS}s"
POLL_MS=0 wrk -t2 -c50 -d"${SECS}s" --timeout 10s -s tests/load/poll_job_status.lua "$URL" | grep JSON
echo "== image detection (512x512 PNG), 4 clients back to back, ${SECS}s"
wrk -t2 -c4 -d"${SECS}s" --timeout 30s -s tests/load/detect_image.lua "$URL" | grep JSON
curl -s -c "$WORK/cookies" "$URL/accounts/login/" -o "$WORK/login.html"
export CSRF_COOKIE=$(awk '$6=="csrftoken"{print $7}' "$WORK/cookies")
export CSRF_TOKEN=$(grep -o 'name="csrfmiddlewaretoken" value="[^"]*"' "$WORK/login.html" | head -1 | sed 's/.*value="//;s/"$//')
echo "== sign-in (PBKDF2, 1,000,000 iterations), 4 clients back to back, ${SECS}s"
wrk -t2 -c4 -d"${SECS}s" --timeout 30s -s tests/load/sign_in.lua "$URL" | grep JSON
grep -ci "error" "$WORK/gunicorn.log" | sed 's/^/gunicorn log lines mentioning errors: /' || true
