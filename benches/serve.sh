#!/usr/bin/env bash
# Serving benchmark: Downlink against nginx serving the same .npy files statically.
# Prints a Markdown table; it is a measurement, not a test. Run it as `./dev bench`
# (which builds the release binary first) or directly after `cargo leptos build --release`.
#
# Arrays: float32 of 1,000 samples (4 kB), 1 M samples (4 MB) and 25 M samples (100 MB).
# Load: wrk (Debian package) on loopback, concurrency 1 and 8, ROUNDS runs of DURATION
# seconds each, the two servers' runs interleaved (benches/serve_runs.py); medians.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-5}
DL_PORT=${DL_PORT:-3931}
NGINX_PORT=${NGINX_PORT:-3932}
BIN=${DOWNLINK_BIN:-target/release/downlink}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
for tool in nginx wrk; do
  if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool"
  fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/data/bench" "$work/nginx"
# nginx's workers run unprivileged: they must be able to read the files.
chmod 755 "$work" "$work/data" "$work/data/bench"
python3 - "$work/data/bench" <<'EOF'
import sys, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(1)
for name, n in [("small", 1_000), ("mid", 1_000_000), ("big", 25_000_000)]:
    np.save(f"{out}/{name}.npy", rng.standard_normal(n, dtype=np.float32))
EOF
chmod 644 "$work"/data/bench/*.npy

# One core each: both servers on CPU 0 (nginx with one worker), wrk on CPU 1, so each server
# has exactly one core and the load generator never takes it. Unpinned, nginx's workers,
# tokio's workers and wrk's threads share the two cores, and the figures swing with the
# scheduler from run to run.
SERVER_CPU=0 CLIENT_CPU=1
[ "$(nproc)" -lt 2 ] && CLIENT_CPU=0

cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
daemon on;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  types { application/octet-stream npy; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $work/data;
  }
}
EOF
taskset -c $SERVER_CPU "$NGINX" -c "$work/nginx/nginx.conf" -p "$work/nginx" -e "$work/nginx/error.log"

RUST_LOG=warn LEPTOS_SITE_ROOT=target/site taskset -c $SERVER_CPU "$BIN" --data "$work/data" --addr "127.0.0.1:$DL_PORT" &
DL_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$DL_PORT/api/arrays" >/dev/null && break
  sleep 0.1
done
NGINX_WORKER=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)

printf '\n%s, %s cores (the servers on one, wrk on another), %s s a run, medians of %s interleaved runs, loopback\n\n' \
  "$(uname -m)" "$(nproc)" "$DURATION" "$ROUNDS"
python3 benches/serve_runs.py "$work/data/bench" "$DL_PORT" "$NGINX_PORT" "$DL_PID" "$NGINX_WORKER" \
  "$DURATION" "$ROUNDS" "$CLIENT_CPU"
