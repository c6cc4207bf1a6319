"""Window statistics (/api/stats) and spectra (/api/spectrum) against NumPy, on the shapes
telemetry comes in: int16 counts, (N, C) columns, NaN gaps, timestamps in passes."""

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from server import Server  # noqa: E402

RATE = 1000.0
START_NS = 1_767_225_600_000_000_000
GAP_NS = 600 * 1_000_000_000
PASS = 600_000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("measure")
    rng = np.random.default_rng(7)
    # 28 V with millivolt noise and NaN dropouts: the cancellation case for a naive std.
    volts = (28.0 + 1e-3 * rng.standard_normal(1_000_000)).astype(np.float32)
    volts[rng.integers(0, volts.size, 500)] = np.nan
    np.save(root / "volts.npy", volts)
    np.save(root / "adc.npy", rng.integers(-2048, 2048, 700_000).astype(">i2"))
    np.save(root / "cols.npy", np.asfortranarray(rng.standard_normal((300_000, 3))))
    # Two passes at 1 kHz, ten minutes apart: a 123 Hz tone and noise.
    t = np.concatenate([START_NS + np.arange(PASS) * 1_000_000,
                        START_NS + PASS * 1_000_000 + GAP_NS + np.arange(PASS) * 1_000_000])
    x = np.sin(2 * np.pi * 123.0 * (t - START_NS) / 1e9) + 0.1 * rng.standard_normal(t.size)
    np.savez(root / "tone.npz", t=t.astype("datetime64[ns]"), x=x)
    return root


@pytest.fixture(scope="module")
def server(data):
    s = Server(data)
    yield s
    s.stop()


def get(server, path):
    with urllib.request.urlopen(server.base + path, timeout=60) as r:
        return json.loads(r.read()), r.headers


def status(server, path):
    try:
        urllib.request.urlopen(server.base + path, timeout=60).read()
        return 200, None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())["error"]


def wait_indexed(server, name, column=None):
    """Until the answer comes from the pyramid and moment tree (built in the background)."""
    col = f"&column={column}" if column is not None else ""
    for _ in range(600):
        answer, _ = get(server, f"/api/stats/{name}?start=0&stop=1{col}")
        if all(c["indexed"] for c in answer["columns"]):
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} was never indexed")


def check(column, x, first=0):
    """`column` describes `x`, whose sample 0 is sample `first` of its array."""
    kept = x[~np.isnan(x)] if x.dtype.kind == "f" else x
    assert column["samples"] == x.size
    assert column["count"] == kept.size
    assert column["nan"] == x.size - kept.size
    assert column["min"] == float(np.nanmin(x)) and column["max"] == float(np.nanmax(x))
    assert column["min_index"] == first + int(np.nanargmin(x))
    assert column["max_index"] == first + int(np.nanargmax(x))
    wide = kept.astype(np.float64)
    assert column["mean"] == pytest.approx(float(np.mean(wide)), rel=1e-12, abs=1e-12)
    assert column["std"] == pytest.approx(float(np.std(wide)), rel=1e-9)
    assert column["rms"] == pytest.approx(float(np.sqrt(np.mean(wide * wide))), rel=1e-12)


@pytest.mark.parametrize("name", ["volts", "adc"])
def test_stats_of_windows_match_numpy_before_and_after_indexing(server, data, name):
    x = np.load(data / f"{name}.npy")
    windows = [(0, x.size), (1, x.size - 1), (12_345, 678_901), (1000, 1030), (5, 6)]
    for start, stop in windows:
        answer, _ = get(server, f"/api/stats/{name}?start={start}&stop={stop}")
        assert answer["window"] == [start, stop]
        check(answer["columns"][0], x[start:stop], start)
    wait_indexed(server, name)
    for start, stop in windows:
        answer, _ = get(server, f"/api/stats/{name}?start={start}&stop={stop}")
        assert answer["columns"][0]["indexed"]
        check(answer["columns"][0], x[start:stop], start)


def test_stats_of_every_column_of_a_fortran_array(server, data):
    x = np.load(data / "cols.npy")
    wait_indexed(server, "cols")  # so both answers below come from the same trees
    answer, _ = get(server, "/api/stats/cols?start=100&stop=250000")
    assert [c["column"] for c in answer["columns"]] == [0, 1, 2]
    for c in range(3):
        check(answer["columns"][c], x[100:250_000, c], 100)
    one, _ = get(server, "/api/stats/cols?start=100&stop=250000&column=2")
    assert one["columns"] == [answer["columns"][2]]


def test_stats_of_a_time_window(server, data):
    z = np.load(data / "tone.npz")
    t, x = z["t"].astype(np.int64), z["x"]
    t0, t1 = START_NS + 50_000_000_123, START_NS + PASS * 1_000_000 + GAP_NS + 7_000_000_000
    answer, _ = get(server, f"/api/stats/tone/x?t0={t0}&t1={t1}")
    keep = (t >= t0) & (t < t1)
    first, last = np.flatnonzero(keep)[[0, -1]]
    assert answer["window"] == [int(first), int(last) + 1]
    check(answer["columns"][0], x[keep], int(first))


def test_an_empty_or_all_nan_window_has_no_values(server, data):
    answer, _ = get(server, "/api/stats/volts?start=7&stop=7")
    column = answer["columns"][0]
    assert column["count"] == 0 and column["mean"] is None and column["min"] is None
    np.save(data / "gaps.npy", np.full(5000, np.nan, dtype=np.float32))
    answer, _ = get(server, "/api/stats/gaps")
    assert answer["columns"][0]["nan"] == 5000 and answer["columns"][0]["std"] is None


def test_stats_have_etags_and_bad_queries_say_why(server):
    _, headers = get(server, "/api/stats/adc?start=0&stop=10")
    req = urllib.request.Request(server.base + "/api/stats/adc?start=0&stop=10",
                                 headers={"If-None-Match": headers["ETag"]})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 304
    assert status(server, "/api/stats/adc?start=10&stop=5")[0] == 400
    assert status(server, "/api/stats/adc?stop=700001")[0] == 400
    assert status(server, "/api/stats/cols?column=3")[0] == 400
    assert status(server, "/api/stats/adc?bins=3")[0] == 400
    code, message = status(server, "/api/stats/adc?t0=0&t1=10")
    assert code == 422 and "no timestamps" in message
    assert status(server, "/api/stats/missing")[0] == 404


def welch(x, fs, nperseg):
    """scipy.signal.welch(x, fs, nperseg=nperseg) (hann, half overlap, constant detrend,
    one-sided density), in NumPy."""
    step = nperseg // 2
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nperseg) / nperseg)
    scale = 1.0 / (fs * np.sum(window**2))
    segments = [x[s:s + nperseg] for s in range(0, x.size - nperseg + 1, step)]
    psd = np.mean([np.abs(np.fft.rfft((s - s.mean()) * window)) ** 2 for s in segments], axis=0) * scale
    psd[1:-1 if nperseg % 2 == 0 else None] *= 2
    return np.fft.rfftfreq(nperseg, 1 / fs), psd


def test_spectrum_of_a_plain_array_matches_welch_in_numpy(server, data):
    x = np.load(data / "adc.npy")[:20_000].astype(np.float64)
    answer, _ = get(server, "/api/spectrum/adc?start=0&stop=20000&nperseg=1024&rate=2000")
    f, psd = welch(x, 2000.0, 1024)
    assert answer["rate_from"] == "attached" and answer["frequency_unit"] == "Hz"
    assert answer["nperseg"] == 1024 and answer["noverlap"] == 512
    assert answer["segments_in_window"] == (20_000 - 1024) // 512 + 1
    np.testing.assert_allclose(answer["frequency"], f, rtol=1e-12)
    np.testing.assert_allclose(answer["columns"][0]["psd"], psd, rtol=1e-9)
    no_rate, _ = get(server, "/api/spectrum/adc?start=0&stop=20000&nperseg=1024")
    assert no_rate["frequency_unit"] == "cycles/sample" and no_rate["rate_hz"] == 1.0


def test_spectrum_finds_the_tone_and_leaves_out_segments_across_the_gap(server, data):
    answer, _ = get(server, "/api/spectrum/tone/x?nperseg=4096")
    assert answer["rate_from"] == "timestamps"
    assert answer["rate_hz"] == pytest.approx(RATE, rel=1e-9)
    # 584 segments in the window: 256 of them, spread over it, are averaged.
    assert answer["segments_in_window"] == (2 * PASS - 4096) // 2048 + 1
    column = answer["columns"][0]
    assert column["segments"] == 256 - answer["segments_with_gaps"]
    assert abs(column["peak_frequency"] - 123.0) <= RATE / 4096
    # Around the gap every segment is used but the two that straddle it.
    near, _ = get(server, f"/api/spectrum/tone/x?start={PASS - 100_000}&stop={PASS + 100_000}&nperseg=4096")
    assert near["segments_in_window"] == 96 and near["segments_with_gaps"] == 2
    assert near["columns"][0]["segments"] == 94
    assert abs(near["columns"][0]["peak_frequency"] - 123.0) <= RATE / 4096
    code, message = status(server, "/api/spectrum/tone/x?start=0&stop=10")
    assert code == 400 and "at least 16" in message
    assert status(server, "/api/spectrum/tone/x?nperseg=8")[0] == 400
    assert status(server, "/api/spectrum/adc?rate=-1")[0] == 400


def send(server, method, path, body=None):
    req = urllib.request.Request(server.base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_clock_gives_a_plain_array_a_start_and_a_rate(server, data):
    rng = np.random.default_rng(5)
    n = 64_000
    np.save(data / "clocked.npy", (np.sin(2 * np.pi * 3200.0 * np.arange(n) / 25600.0)
                                   + 0.1 * rng.standard_normal(n)).astype(np.float32))
    assert send(server, "GET", "/api/clock/clocked")[0] == 404
    code, clock = send(server, "PUT", "/api/clock/clocked", {"rate_hz": 25600, "start": "2026-03-14T09:00:00Z"})
    assert code == 200
    assert clock == {"name": "clocked", "start": "2026-03-14T09:00:00.000000000Z",
                     "start_ns": 1_773_478_800_000_000_000, "rate_hz": 25600.0}
    assert send(server, "GET", "/api/clock/clocked") == (200, clock)
    # The spectrum takes its rate from the clock.
    answer, _ = get(server, "/api/spectrum/clocked?nperseg=2048")
    assert answer["rate_from"] == "attached" and answer["rate_hz"] == 25600.0
    assert abs(answer["columns"][0]["peak_frequency"] - 3200.0) <= 25600 / 2048
    # Bad clocks say why and change nothing.
    for body in [{"rate_hz": 0}, {"rate_hz": -1}, {"rate_hz": 1, "start": "noon"}, {"rate": 5}, {"rate_hz": "fast"}]:
        code, err = send(server, "PUT", "/api/clock/clocked", body)
        assert code == 400 and "rate_hz" in err["error"], body
    assert send(server, "GET", "/api/clock/clocked") == (200, clock)
    assert send(server, "PUT", "/api/clock/nothing-here", {"rate_hz": 1})[0] == 404
    assert send(server, "PUT", "/api/clock/../x", {"rate_hz": 1})[0] in (400, 404)
    # Removed with DELETE, and with the array.
    assert send(server, "DELETE", "/api/clock/clocked")[0] == 204
    assert send(server, "DELETE", "/api/clock/clocked")[0] == 404
    assert send(server, "PUT", "/api/clock/clocked", {"rate_hz": 1000, "start": 0})[0] == 200
    assert send(server, "DELETE", "/api/arrays/clocked")[0] == 204
    np.save(data / "clocked.npy", np.zeros(10, dtype=np.float32))
    assert send(server, "GET", "/api/clock/clocked")[0] == 404
