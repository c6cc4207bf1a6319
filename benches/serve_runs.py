"""The measuring half of `benches/serve.sh`: wrk against Downlink and nginx in turns, and a
Markdown table of the medians.

Each cell runs ROUNDS times, the two servers' runs interleaved, so noise on the machine
falls on both alike. Besides wrk's figures it reads each server's CPU time (utime + stime
of the process, every thread) around every run: the CPU time a request costs is what
decides throughput on a core, and it moves much less than requests/s when the machine is
shared.

Usage (from serve.sh): serve_runs.py DATA DL_PORT NGINX_PORT DL_PID NGINX_WORKER_PID
SECONDS ROUNDS CLIENT_CPU
"""

import os
import re
import statistics
import subprocess
import sys

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: str) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run(url: str, conns: int, pid: str, seconds: str, cpu: str) -> tuple:
    """wrk's requests/s and p99, and the server's CPU µs per request, of one run."""
    before = cpu_seconds(pid)
    out = subprocess.run(["taskset", "-c", cpu, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before
    if "Non-2xx" in out:
        sys.exit(f"error responses from {url}:\n{out}")
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return rps, p99, used / n * 1e6


def main() -> None:
    data, dl_port, ng_port, dl_pid, ng_pid, seconds, rounds, cpu = sys.argv[1:]
    print("| array | conc. | Downlink req/s | nginx req/s | Downlink MB/s | nginx MB/s | Downlink/nginx "
          "| CPU µs a request, Downlink / nginx | Downlink p99 | nginx p99 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("small", "mid", "big"):
        size = os.path.getsize(f"{data}/{name}.npy")
        for conns in (1, 8):
            runs = {"dl": [], "ng": []}
            for _ in range(int(rounds)):
                runs["dl"].append(run(f"http://127.0.0.1:{dl_port}/api/arrays/bench/{name}", conns, dl_pid,
                                      seconds, cpu))
                runs["ng"].append(run(f"http://127.0.0.1:{ng_port}/bench/{name}.npy", conns, ng_pid, seconds, cpu))
            rps = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
            us = {k: statistics.median(r[2] for r in v) for k, v in runs.items()}
            # The p99 of the median run by requests/s.
            p99 = {k: sorted(v, key=lambda r: r[0])[len(v) // 2][1] for k, v in runs.items()}
            shown = f"{size / 1e3:.0f} kB" if size < 1e6 else f"{size / 1e6:.1f} MB"
            print(f"| {name} ({shown}) | {conns} | {rps['dl']:.0f} | {rps['ng']:.0f} "
                  f"| {rps['dl'] * size / 1e6:.0f} | {rps['ng'] * size / 1e6:.0f} | {rps['dl'] / rps['ng']:.2f}× "
                  f"| {us['dl']:.1f} / {us['ng']:.1f} | {p99['dl']} | {p99['ng']} |")


if __name__ == "__main__":
    main()
