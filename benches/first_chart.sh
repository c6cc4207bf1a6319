#!/usr/bin/env bash
# Time to the server-rendered HTML (with the SVG chart) of the 50M-sample demo series.
# Prints a table; a measurement, not a test. Needs the release build (`./dev bench` does it).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-3933}
RUNS=${RUNS:-30}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
RUST_LOG=warn LEPTOS_SITE_ROOT=target/site target/release/downlink --data "$work/data" --addr "127.0.0.1:$PORT" &
until curl -sf "http://127.0.0.1:$PORT/api/arrays" >/dev/null; do sleep 0.1; done

page() { curl -s -o "$work/page.html" -w '%{time_total}\n' "http://127.0.0.1:$PORT$1"; }
# The first request of a fresh server builds nothing on the request path (pyramids are
# built in the background); it is timed apart from the warm ones.
cold=$(page /view/demo/vibration)
grep -q '<svg' "$work/page.html" || { echo "no SVG in the page" >&2; exit 1; }
sleep 3 # let the background pyramid build finish
for path in /view/demo/vibration /view/demo/pass; do
  for _ in $(seq "$RUNS"); do page "$path"; done | sort -n >"$work/times"
  p50=$(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] * 1000 }' "$work/times")
  p90=$(awk '{ a[NR] = $1 } END { print a[int(NR * 0.9)] * 1000 }' "$work/times")
  printf '| %s | %.1f | %.1f | %s kB |\n' "$path" "$p50" "$p90" "$(($(stat -c %s "$work/page.html") / 1000))"
done | { printf '\nTime to the SSR HTML with its SVG chart (%s runs each; cold first request %.1f ms)\n\n| page | p50 ms | p90 ms | HTML size |\n|---|---:|---:|---:|\n' "$RUNS" "$(echo "$cold * 1000" | bc)"; cat; }
