"""A Zarr v3 array against the same data as .npy, over HTTP against the release server.

The data is telemetry-shaped: 100M float32 samples (a noisy two-tone signal with bursts)
with datetime64[ns] timestamps in three passes 95 minutes apart, written once as .npy files
and once by zarr-python as a Zarr group with its default codecs (bytes + zstd), in chunks of
1M samples. For each form it prints:

  first LOD     the first /api/lod answer on a fresh server: for Zarr, the decode of every
                chunk into the disk cache plus the pyramid build; for .npy, the pyramid build
  LOD p50/p99   random index windows and random time windows of 2,000 bins, once indexed
  slice         p50 of a 10,000-sample ?slice= read at a random place on a fresh server,
                before anything is decoded (Zarr decodes only the chunks it covers)
  full GET      MB/s of GET /api/arrays/NAME?format=raw (cold: first read; warm: again)

Usage: python3 benches/zarr_vs_npy.py [--out DIR]  (~1.3 GB under DIR, default bench-out/zarr,
kept between runs). It prints a table and asserts nothing.
"""

import argparse
import http.client
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import zarr

from harness import REPO, Server, percentiles, warm

N = 100_000_000
CHUNK = 1_000_000
BLOCK = 10_000_000
START_NS = 1_767_225_600_000_000_000
GAP_NS = 95 * 60 * 1_000_000_000
BINS = 2000
WINDOWS = 200


def block(a: int, b: int):
    rng = np.random.default_rng(a)
    i = np.arange(a, b, dtype=np.float64)
    x = (np.sin(i / 977.0) * 3 + np.sin(i / 53.0) + rng.standard_normal(b - a) * 0.2).astype("<f4")
    idx = np.arange(a, b, dtype=np.int64)
    t = START_NS + idx * 1_000_000 + (idx * 3 // N) * GAP_NS
    return t.view("<M8[ns]"), x


def write(out: Path) -> None:
    npy, zarr_dir = out / "npy" / "run", out / "zarr" / "run.zarr"
    if not (npy / "x.npy").exists():
        print("writing the .npy files ...", file=sys.stderr, flush=True)
        npy.mkdir(parents=True, exist_ok=True)
        x = np.lib.format.open_memmap(npy / "x.npy", mode="w+", dtype="<f4", shape=(N,))
        t = np.lib.format.open_memmap(npy / "t.npy", mode="w+", dtype="<M8[ns]", shape=(N,))
        for a in range(0, N, BLOCK):
            t[a : a + BLOCK], x[a : a + BLOCK] = block(a, min(N, a + BLOCK))
        x.flush()
        t.flush()
        del x, t
    if not (zarr_dir / "x" / "zarr.json").exists():
        print("writing the Zarr group (zstd) ...", file=sys.stderr, flush=True)
        g = zarr.open_group(zarr_dir, mode="w")
        x = g.create_array("x", shape=(N,), dtype="<f4", chunks=(CHUNK,))
        t = g.create_array("t", shape=(N,), dtype="<M8[ns]", chunks=(CHUNK,))
        for a in range(0, N, BLOCK):
            t[a : a + BLOCK], x[a : a + BLOCK] = block(a, min(N, a + BLOCK))


def timed(server, paths, conn=None) -> list:
    out = []
    for path in paths:
        t = time.perf_counter()
        server.get(path, conn)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def measure(data: Path, name: str, port: int) -> dict:
    # No pyramid or decoded array kept from an earlier run: the first answer builds them.
    shutil.rmtree(data / ".downlink", ignore_errors=True)
    warm(data)  # the files in the page cache, as right after being written
    rng = random.Random(5)
    server = Server(data, port)
    try:
        slices = [rng.randrange(0, N - 10_000) for _ in range(20)]
        slice_ms = timed(server, [f"/api/arrays/{name}?slice={a}:{a + 10_000}&format=raw" for a in slices])
        started = time.perf_counter()
        server.get(f"/api/lod/{name}?bins={BINS}")
        first_ms = (time.perf_counter() - started) * 1e3
        server.get(f"/api/lod/{name}?t0={START_NS}&t1={START_NS + 10**9}&bins=10")
        span = N * 1_000_000 + 2 * GAP_NS

        def index_window():
            width = int(10 ** rng.uniform(3, np.log10(N)))
            a = rng.randrange(0, N - width + 1)
            return f"/api/lod/{name}?start={a}&stop={a + width}&bins={BINS}"

        def time_window():
            width = int(10 ** rng.uniform(9, np.log10(span)))
            t0 = START_NS + rng.randrange(0, span - width + 1)
            return f"/api/lod/{name}?t0={t0}&t1={t0 + width}&bins={BINS}"

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        index_ms = timed(server, [index_window() for _ in range(WINDOWS)], conn)
        time_ms = timed(server, [time_window() for _ in range(WINDOWS)], conn)
        conn.close()
    finally:
        server.stop()
    # Full GETs on a fresh server: cold (for Zarr, the decode of every chunk), then warm.
    server = Server(data, port)
    try:
        rates = []
        for _ in range(2):
            t = time.perf_counter()
            body = server.get(f"/api/arrays/{name}?format=raw")
            rates.append(len(body) / (time.perf_counter() - t) / 1e6)
            del body
    finally:
        server.stop()
    return dict(first_ms=first_ms, index=percentiles(index_ms), time=percentiles(time_ms),
                slice_p50=statistics.median(slice_ms), cold=rates[0], warm=rates[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "zarr")
    args = parser.parse_args()
    write(args.out)
    rows = [
        (".npy", measure(args.out / "npy", "run/x", 3971)),
        ("Zarr (zstd, 1M chunks)", measure(args.out / "zarr", "run/x", 3972)),
    ]
    print("| 100M float32 + datetime64 | first LOD | LOD p50 / p99, index windows | LOD p50 / p99, time windows | 10k-sample slice, fresh server | full GET cold / warm |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in rows:
        print(f"| {label} | {r['first_ms']:.0f} ms | {r['index'][0]:.2f} / {r['index'][1]:.2f} ms | "
              f"{r['time'][0]:.2f} / {r['time'][1]:.2f} ms | {r['slice_p50']:.2f} ms | {r['cold']:.0f} / {r['warm']:.0f} MB/s |")


if __name__ == "__main__":
    main()
