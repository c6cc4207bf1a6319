#!/usr/bin/env bash
# Serving benchmark: Downlink against nginx serving the same .npy files statically.
# Prints a Markdown table; it is a measurement, not a test. Run it as `./dev bench`
# (which builds the release binary first) or directly after `cargo leptos build --release`.
#
# Arrays: float32 of 1,000 samples (4 kB), 1 M samples (4 MB) and 25 M samples (100 MB).
# Load: wrk (Debian package) on loopback, concurrency 1 and 8, DURATION seconds each.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}
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

cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
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
"$NGINX" -c "$work/nginx/nginx.conf" -p "$work/nginx"

RUST_LOG=warn LEPTOS_SITE_ROOT=target/site "$BIN" --data "$work/data" --addr "127.0.0.1:$DL_PORT" &
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$DL_PORT/api/arrays" >/dev/null && break
  sleep 0.1
done

# wrk's summary -> "requests_per_second p99_latency"
measure() {
  local url=$1 conns=$2 threads=1
  [ "$conns" -gt 1 ] && threads=2
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "$url")
  if grep -q "Non-2xx" <<<"$out"; then
    printf 'error responses from %s:\n%s\n' "$url" "$out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ { rps = $2 } /^ +99%/ { p99 = $2 } END { printf "%s %s\n", rps, p99 }' <<<"$out"
}

printf '\n%s, %s cores, wrk %ss per cell, loopback\n\n' "$(uname -m)" "$(nproc)" "$DURATION"
printf '| array | conc. | Downlink req/s | nginx req/s | Downlink MB/s | nginx MB/s | Downlink/nginx | Downlink p99 | nginx p99 |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for name in small mid big; do
  size=$(stat -c %s "$work/data/bench/$name.npy")
  for conns in 1 8; do
    read -r d_rps d_p99 < <(measure "http://127.0.0.1:$DL_PORT/api/arrays/bench/$name" "$conns")
    read -r n_rps n_p99 < <(measure "http://127.0.0.1:$NGINX_PORT/bench/$name.npy" "$conns")
    awk -v name="$name" -v size="$size" -v c="$conns" -v dr="$d_rps" -v nr="$n_rps" \
      -v dp="$d_p99" -v np="$n_p99" 'BEGIN {
        dm = dr * size / 1e6; nm = nr * size / 1e6;
        printf "| %s (%.1f MB) | %d | %.0f | %.0f | %.0f | %.0f | %.2f× | %s | %s |\n",
          name, size / 1e6, c, dr, nr, dm, nm, (nr > 0 ? dr / nr : 0), dp, np }'
  done
done
