#!/usr/bin/env bash
# Fuzz the example app's OpenAPI document with schemathesis, against the app
# served by hypercorn's trio worker on a free loopback port.
#
#   make schemathesis                    # builds .venv-schemathesis, then runs this
#   SCHEMATHESIS=/path/to/schemathesis PYTHON=.venv/bin/python scripts/schemathesis.sh
#
# Extra arguments go to `schemathesis run` (e.g. --max-examples 50).
# Exits with schemathesis' status: non-zero on any 5xx or schema violation.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
SCHEMATHESIS=${SCHEMATHESIS:-.venv-schemathesis/bin/schemathesis}
APP=${APP:-examples.app:app}
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp)

"$PYTHON" -m hypercorn --worker-class trio --bind "127.0.0.1:$PORT" "$APP" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; echo "--- server log ($LOG) ---"; tail -n 20 "$LOG"' EXIT

# Most routes need a bearer token: sign up a user and log in, so the fuzzing
# reaches the endpoints behind authentication (without it they all answer 401).
TOKEN=$("$PYTHON" - "http://127.0.0.1:$PORT" <<'PY'
import sys, time, httpx
base = sys.argv[1]
for _ in range(150):
    try:
        httpx.get(f"{base}/health").raise_for_status()
        break
    except httpx.HTTPError:
        time.sleep(0.1)
user = {"username": "fuzzer", "password": "fuzzing-password"}
httpx.post(f"{base}/users", json=user)  # 201, or 409 when it exists
print(httpx.post(f"{base}/token", data=user).json()["access_token"])
PY
)
# All checks, allow_header_conformance included (a 405 lists the methods of
# every route on the path; Starlette and FastAPI list only the first route's),
# with the exceptions scripts/schemathesis.toml gives reasons for.
# Run from a scratch directory so schemathesis' .schemathesis/ cache stays out of the tree.
ROOT=$PWD
WORK=$(mktemp -d)
cd "$WORK"
case $SCHEMATHESIS in /*) ;; *) SCHEMATHESIS=$ROOT/$SCHEMATHESIS ;; esac
# /feed streams until `count` new items arrive: a fuzzer's request to it
# would wait for items no one posts, so it is left out here (tests/test_example_app.py covers it).
"$SCHEMATHESIS" --config-file "$ROOT/scripts/schemathesis.toml" run "http://127.0.0.1:$PORT/openapi.json" \
    --header "Authorization: Bearer $TOKEN" --exclude-path /feed \
    --wait-for-schema 15 --max-examples "${MAX_EXAMPLES:-100}" "$@"
