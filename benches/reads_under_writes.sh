#!/usr/bin/env bash
# Reads while a writer appends at 1 kHz: requests/s and p99 of GETs of the growing array (and
# of a static one), with and without the writer. Prints a table; a measurement, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-3934}
DURATION=${DURATION:-10}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/data/bench"
python3 -c "
import numpy as np
np.save('$work/data/bench/static.npy', np.random.default_rng(1).standard_normal(1000).astype('<f4'))
np.save('$work/data/bench/growing.npy', np.zeros(1000, '<f4'))"
RUST_LOG=warn LEPTOS_SITE_ROOT=target/site target/release/downlink --data "$work/data" --addr "127.0.0.1:$PORT" &
until curl -sf "http://127.0.0.1:$PORT/api/arrays" >/dev/null; do sleep 0.1; done

# One row per POST, 1,000 POSTs a second, on one kept-alive connection; prints the rate reached.
writer() {
  python3 - "$PORT" "$1" <<'PY'
import http.client, io, sys, time
import numpy as np
port, seconds = int(sys.argv[1]), float(sys.argv[2])
buf = io.BytesIO(); np.save(buf, np.ones(1, "<f4")); body = buf.getvalue()
conn = http.client.HTTPConnection("127.0.0.1", port)
start = time.monotonic(); sent = 0
while (now := time.monotonic()) - start < seconds:
    due = start + sent / 1000.0
    if now < due:
        time.sleep(due - now)
    conn.request("POST", "/api/arrays/bench/growing", body, {"Content-Type": "application/x-npy"})
    r = conn.getresponse(); r.read()
    assert r.status == 200, r.status
    sent += 1
print(f"{sent / (time.monotonic() - start):.0f}")
PY
}

measure() {
  wrk -t2 -c8 -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/api/arrays/bench/$1" |
    awk '/Requests\/sec/ { rps = $2 } /^ +99%/ { p99 = $2 } /Non-2xx/ { bad = $5 } END { printf "%s %s %s\n", rps, p99, bad + 0 }'
}

printf '\nReads (wrk, 8 connections, %ss) of a 1,000-sample float32 array, %s cores\n\n' "$DURATION" "$(nproc)"
printf '| read | writer | req/s | p99 | non-2xx | appends/s reached |\n|---|---|---:|---:|---:|---:|\n'
for target in static growing; do
  read -r rps p99 bad < <(measure "$target")
  printf '| %s | none | %s | %s | %s | – |\n' "$target" "$rps" "$p99" "$bad"
  writer "$((DURATION + 1))" >"$work/rate" &
  read -r rps p99 bad < <(measure "$target")
  wait %2 2>/dev/null || wait $! || true
  printf '| %s | 1 kHz appends | %s | %s | %s | %s |\n' "$target" "$rps" "$p99" "$bad" "$(cat "$work/rate")"
done
rows=$(curl -s "http://127.0.0.1:$PORT/api/arrays" | python3 -c 'import json,sys; print([a["shape"][0] for a in json.load(sys.stdin)["arrays"] if a["name"]=="bench/growing"][0])')
printf '\nThe growing array ended with %s rows.\n' "$rows"
