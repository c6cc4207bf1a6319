"""Zarr v3 arrays against the same data as .npy, over HTTP against the release server.

The data is telemetry-shaped, written once as .npy files and once by zarr-python as a Zarr
group with its default codecs (bytes + zstd), in chunks of 1M rows, each with datetime64[ns]
timestamps in three passes 95 minutes apart:

  x      100M float32 samples (a noisy two-tone signal with bursts), timestamps `t`
  adc    100M int16 ADC counts (a 12-bit converter's noisy readings), on the same `t`
  cols   25M rows of 4 float32 channels, (N, 4) in C order (Zarr chunks of 250k x 4), at a
         quarter of the rate, timestamps `t_cols`

For each array and form it prints:

  first LOD     the first /api/lod answer on a fresh server: for Zarr, the decode of every
                chunk into the disk cache plus the pyramid build; for .npy, the pyramid build
  LOD p50/p99   random index windows and random time windows of 2,000 bins, once indexed
                (every column of `cols` in each answer)
  slice         p50 of a 10,000-row ?slice= read at a random place on a fresh server,
                before anything is decoded (Zarr decodes only the chunks it covers)
  full GET      MB/s of GET /api/arrays/NAME?format=raw (cold: first read; warm: again)

Usage: python3 benches/zarr_vs_npy.py [--out DIR]  (~3.4 GB under DIR, default bench-out/zarr,
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
COLUMNS = 4


def times(a: int, b: int, n: int, step_ns: int):
    """Timestamps of rows [a, b) of n: step_ns apart, in three passes with gaps."""
    idx = np.arange(a, b, dtype=np.int64)
    return (START_NS + idx * step_ns + (idx * 3 // n) * GAP_NS).view("<M8[ns]")


def block(a: int, b: int):
    rng = np.random.default_rng(a)
    i = np.arange(a, b, dtype=np.float64)
    x = (np.sin(i / 977.0) * 3 + np.sin(i / 53.0) + rng.standard_normal(b - a) * 0.2).astype("<f4")
    return times(a, b, N, 1_000_000), x


def adc_block(a: int, b: int):
    rng = np.random.default_rng(a + 1)
    i = np.arange(a, b, dtype=np.float64)
    return (2048 + 900 * np.sin(i / 977.0) + rng.normal(0, 12, b - a)).astype("<i2")


def cols_block(a: int, b: int):
    rng = np.random.default_rng(a + 2)
    i = np.arange(a, b, dtype=np.float64)[:, None]
    phase = np.arange(COLUMNS)[None, :]
    return (np.sin(i / 211.0 + phase) + rng.standard_normal((b - a, COLUMNS)) * 0.05).astype("<f4")


#: name, rows, dtype, shape after the rows, Zarr chunk rows, a block of rows, its timestamps
ARRAYS = [
    ("x", N, "<f4", (), CHUNK, lambda a, b: block(a, b)[1], "t"),
    ("adc", N, "<i2", (), CHUNK, adc_block, "t"),
    ("cols", N // COLUMNS, "<f4", (COLUMNS,), CHUNK // COLUMNS, cols_block, "t_cols"),
]


def write(out: Path) -> None:
    npy, zarr_dir = out / "npy" / "run", out / "zarr" / "run.zarr"
    npy.mkdir(parents=True, exist_ok=True)
    g = zarr.open_group(zarr_dir, mode="a")
    stamps = [("t", N, 1_000_000), ("t_cols", N // COLUMNS, 1_000_000 * COLUMNS)]
    for name, n, step in stamps:
        if not (npy / f"{name}.npy").exists():
            print(f"writing {name}.npy ...", file=sys.stderr, flush=True)
            t = np.lib.format.open_memmap(npy / f"{name}.npy", mode="w+", dtype="<M8[ns]", shape=(n,))
            for a in range(0, n, BLOCK):
                t[a : a + BLOCK] = times(a, min(n, a + BLOCK), n, step)
            t.flush()
            del t
        if name not in g:
            print(f"writing Zarr {name} (zstd) ...", file=sys.stderr, flush=True)
            z = g.create_array(name, shape=(n,), dtype="<M8[ns]", chunks=(CHUNK,))
            for a in range(0, n, BLOCK):
                z[a : a + BLOCK] = times(a, min(n, a + BLOCK), n, step)
    for name, n, dtype, tail, chunk, make, _ in ARRAYS:
        if not (npy / f"{name}.npy").exists():
            print(f"writing {name}.npy ...", file=sys.stderr, flush=True)
            x = np.lib.format.open_memmap(npy / f"{name}.npy", mode="w+", dtype=dtype, shape=(n, *tail))
            for a in range(0, n, BLOCK):
                x[a : a + BLOCK] = make(a, min(n, a + BLOCK))
            x.flush()
            del x
        if name not in g:
            print(f"writing Zarr {name} (zstd) ...", file=sys.stderr, flush=True)
            z = g.create_array(name, shape=(n, *tail), dtype=dtype, chunks=(chunk, *tail))
            for a in range(0, n, BLOCK):
                z[a : a + BLOCK] = make(a, min(n, a + BLOCK))


def timed(server, paths, conn=None) -> list:
    out = []
    for path in paths:
        t = time.perf_counter()
        server.get(path, conn)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def measure(data: Path, name: str, n: int, port: int) -> dict:
    # No pyramid or decoded array kept from an earlier run: the first answer builds them.
    shutil.rmtree(data / ".downlink", ignore_errors=True)
    warm(data)  # the files in the page cache, as right after being written
    rng = random.Random(5)
    server = Server(data, port)
    try:
        slices = [rng.randrange(0, n - 10_000) for _ in range(20)]
        slice_ms = timed(server, [f"/api/arrays/{name}?slice={a}:{a + 10_000}&format=raw" for a in slices])
        started = time.perf_counter()
        server.get(f"/api/lod/{name}?bins={BINS}")
        first_ms = (time.perf_counter() - started) * 1e3
        server.get(f"/api/lod/{name}?t0={START_NS}&t1={START_NS + 10**9}&bins=10")
        span = N * 1_000_000 + 2 * GAP_NS

        def index_window():
            width = int(10 ** rng.uniform(3, np.log10(n)))
            a = rng.randrange(0, n - width + 1)
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
    print("| 100M samples with datetime64 timestamps, zstd chunks of 1M rows | first LOD | LOD p50 / p99, index windows "
          "| LOD p50 / p99, time windows | 10k-row slice, fresh server | full GET cold / warm |")
    print("|---|---:|---:|---:|---:|---:|")
    port = 3971
    for name, n, dtype, tail, _, _, _ in ARRAYS:
        shape = f"({n // 1_000_000}M, {tail[0]})" if tail else f"{n // 1_000_000}M"
        for form in ("npy", "zarr"):
            r = measure(args.out / form, f"run/{name}", n, port)
            port += 1
            label = f"`{name}` {np.dtype(dtype).name} {shape}, " + (".npy" if form == "npy" else "Zarr")
            print(f"| {label} | {r['first_ms']:.0f} ms | {r['index'][0]:.2f} / {r['index'][1]:.2f} ms | "
                  f"{r['time'][0]:.2f} / {r['time'][1]:.2f} ms | {r['slice_p50']:.2f} ms | "
                  f"{r['cold']:.0f} / {r['warm']:.0f} MB/s |", flush=True)


if __name__ == "__main__":
    main()
