"""The Python client (clients/python) against the release binary: installed with pip, then
its whole surface, the errors it raises and the README example that uses it."""

import http.server
import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from server import Server  # noqa: E402

TOKEN = "client-s3cret"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "run").mkdir()
    t = np.datetime64("2026-03-14T09:00:00", "ns") + np.arange(10_000).astype("timedelta64[ms]") * 20
    np.save(data / "run" / "t.npy", t)
    np.save(data / "run" / "x.npy", np.sin(np.arange(10_000) / 100).astype("<f4"))
    np.save(data / "big_endian.npy", np.arange(12, dtype=">i2").reshape(4, 3))
    np.save(data / "names.npy", np.array(["a", "b"]))
    np.savez(data / "pack.npz", a=np.arange(3))
    running = Server(data, env={"DOWNLINK_WRITE_TOKEN": TOKEN})
    yield running
    running.stop()


@pytest.fixture()
def client(downlink, server):
    return downlink.Client(server.base, token=TOKEN)


def test_list_and_info(client, downlink):
    names = {a.name: a for a in client.list()}
    assert {"run/t", "run/x", "big_endian", "names"} <= names.keys()
    info = client.info("big_endian")
    assert info.dtype == np.dtype(">i2") and info.shape == (4, 3) and info.nbytes == 24
    assert info.etag.startswith('"')
    with pytest.raises(downlink.NotFound):
        client.info("nothing/here")


def test_get_keeps_dtype_and_byte_order_and_slices(client):
    whole = client.get("big_endian")
    assert whole.dtype.str == ">i2"
    np.testing.assert_array_equal(whole, np.arange(12).reshape(4, 3))
    assert whole.flags.writeable, "get() returns a writable array, as np.load does"
    np.testing.assert_array_equal(client.get("big_endian", slice="1:3"), np.arange(3, 9).reshape(2, 3))
    np.testing.assert_array_equal(client.get("big_endian", slice=slice(None, None, -2)), whole[::-2])
    converted = client.get("big_endian", slice="-1:", dtype=np.float64)
    assert converted.dtype.str == "<f8"
    np.testing.assert_array_equal(converted, [[9.0, 10.0, 11.0]])


def test_get_many_views_one_buffer(client):
    arrays = client.get_many(["run/t", "run/x"], slice="100:200")
    np.testing.assert_array_equal(arrays["run/x"], (np.sin(np.arange(10_000) / 100).astype("<f4"))[100:200])
    assert arrays["run/t"].dtype == np.dtype("<M8[ns]") and len(arrays["run/t"]) == 100

    def buffer_of(a):
        while isinstance(a, np.ndarray):
            a = a.base
        return a.obj if isinstance(a, memoryview) else a

    assert buffer_of(arrays["run/t"]) is buffer_of(arrays["run/x"]), "both view the one response buffer"


def test_put_append_delete_round_trip_every_kind_of_array(client, downlink):
    cases = {
        "c/f4": np.arange(10, dtype="<f4"),
        "c/fortran": np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4)),
        "c/be": np.arange(6, dtype=">u4").reshape(3, 2),
        "c/dt": np.array(["2026-01-01T00:00", "NaT"], dtype="M8[us]"),
        "c/rec": np.array([(1, 2.5), (3, -1.0)], dtype=[("id", "<i4"), ("v", ">f8")]),
        "c/strided": np.arange(20, dtype="<i8")[::3],
        "c/bool": np.array([True, False, True]),
    }
    for name, array in cases.items():
        info = client.put(name, array)
        assert info.name == name and info.shape == array.shape and info.dtype == array.dtype
        back = client.get(name)
        assert back.dtype == array.dtype, name
        np.testing.assert_array_equal(back, array)
    info = client.append("c/be", np.array([[7, 8]], dtype=">u4"))
    assert info.shape == (4, 2)
    np.testing.assert_array_equal(client.get("c/be")[-1], [7, 8])
    for name in cases:
        client.delete(name)
    with pytest.raises(downlink.NotFound) as err:
        client.get("c/f4")
    assert "c/f4" in err.value.message and err.value.status == 404


def test_put_sends_the_arrays_own_memory(downlink):
    from downlink.npy import npy_parts

    a = np.arange(1000, dtype="<f8")
    f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    for array in (a, f):
        (header, data), length = npy_parts(array)
        assert np.shares_memory(np.frombuffer(data, np.uint8), array), "no copy of the data"
        assert length == len(header) + array.nbytes


def test_errors_are_typed_and_carry_the_servers_message(client, downlink, server):
    with pytest.raises(downlink.BadRequest) as err:
        client.get("run/x", slice="1:2:0")
    assert "step" in err.value.message.lower()
    with pytest.raises(downlink.Conflict):
        client.append("run/x", np.zeros(3, dtype="<f8"))
    with pytest.raises(downlink.Unprocessable):
        client.lod("names")
    with pytest.raises(downlink.Unauthorized):
        downlink.Client(server.base).put("nope", np.zeros(2))
    # Refused before the body is read: the server answers and closes while the client is
    # still sending 64 MB; the client reads the answer all the same.
    with pytest.raises(downlink.Unauthorized) as err:
        downlink.Client(server.base).put("nope", np.zeros(8 << 20))
    assert "token" in err.value.message.lower()
    with pytest.raises(downlink.MethodNotAllowed):
        client.delete("pack/a")
    with pytest.raises(downlink.Unreachable):
        downlink.Client("http://127.0.0.1:9", timeout=2).list()
    assert isinstance(downlink.NotFound("x"), LookupError)


def test_lod_by_index_and_by_time(client):
    x = np.sin(np.arange(10_000) / 100).astype("<f4")
    lod = client.lod("run/x", 0, 10_000, bins=10)
    assert lod.index.shape == (1, 10, 4) and lod.time is not None
    np.testing.assert_array_equal(lod.window, [0, 10_000])
    mins = lod.value[0, :, 1]
    np.testing.assert_array_equal(mins, x.reshape(10, -1).min(axis=1).astype("<f8"))

    t0 = np.datetime64("2026-03-14T09:00:10", "ns")
    by_time = client.lod("run/x", t0=t0, t1=t0 + np.timedelta64(10, "s"), bins=5)
    # 20 ms apart: samples 500..999 fall in those ten seconds.
    np.testing.assert_array_equal(by_time.window, [500, 1000])
    by_text = client.lod("run/x", t0="2026-03-14T09:00:10Z", t1="2026-03-14T09:00:20Z", bins=5)
    np.testing.assert_array_equal(by_text.index, by_time.index)


def test_url_opens_the_chart_and_show_embeds_it(client, server):
    link = client.url("run/x", (100, 200))
    assert link == f"{server.base}/view/run/x?start=100&stop=200"
    t0 = np.datetime64("2026-03-14T09:00:10", "ns")
    in_time = client.url("run", (t0, t0 + np.timedelta64(1, "s")))
    assert "t0=1773478810000000000" in in_time and "t1=1773478811000000000" in in_time
    with urllib.request.urlopen(link) as page:
        assert page.status == 200 and b"run/x" in page.read()
    pytest.importorskip("IPython")
    frame = client.show("run/x", (100, 200), height=300)
    assert frame.src == link and frame.height == 300


def test_events_follow_writes(client):
    seen = []
    ready = threading.Event()

    def follow():
        stream = client.events()
        ready.set()
        for event in stream:
            seen.append(event)
            if event.kind == "deleted":
                return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    ready.wait(5)
    # The subscription is open once the server has answered; give it that moment.
    for _ in range(50):
        client.put("live/a", np.zeros(3))
        if seen:
            break
        threading.Event().wait(0.1)
    client.delete("live/a")
    reader.join(10)
    kinds = [(e.kind, e.data["name"]) for e in seen]
    assert ("changed", "live/a") in kinds and kinds[-1] == ("deleted", "live/a")


def test_busy_is_retried_after_retry_after(downlink):
    """A 503 with Retry-After is retried; past `retries`, Busy is raised with the advice."""
    answers = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            busy = len(answers) < 2
            answers.append(503 if busy else 200)
            body = json.dumps({"error": "heavy pool full"} if busy else {"arrays": []}).encode()
            self.send_response(503 if busy else 200)
            if busy:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{stub.server_address[1]}"
        assert downlink.Client(base).list() == []
        assert answers == [503, 503, 200]
        answers.clear()
        with pytest.raises(downlink.Busy) as err:
            downlink.Client(base, retries=1).list()
        assert err.value.retry_after == 0 and err.value.message == "heavy pool full"
    finally:
        stub.shutdown()


def test_readme_example(downlink, server):
    example = (REPO / "clients" / "python" / "example.py").read_text()
    assert example.strip() in (REPO / "README.md").read_text()
    scope = {}
    exec(compile(example, "example.py", "exec"), scope)
    got = scope["example"](server.base, TOKEN)
    assert got.shape == (1100,) and got.dtype == np.dtype("<f8")


def test_stats_spectrum_and_clock(client, downlink):
    x = np.sin(np.arange(10_000) / 100).astype("<f4")
    (column,) = client.stats("run/x", 100, 9_000)
    part = x[100:9_000].astype(np.float64)
    assert column["count"] == 8_900 and column["min"] == float(part.min()) and column["max"] == float(part.max())
    assert column["mean"] == pytest.approx(part.mean(), rel=1e-9, abs=1e-12)
    assert column["std"] == pytest.approx(part.std(), rel=1e-9)
    # By time: the same samples as the window's instants hold (50 Hz from 09:00).
    (timed,) = client.stats("run/x", t0="2026-03-14T09:00:02Z", t1=np.datetime64("2026-03-14T09:00:10", "ns"))
    assert timed["samples"] == 400
    # The spectrum of the timestamped series, rate from its timestamps: the tone at
    # 1/(2π·100) cycles per sample, 50/(200π) Hz.
    spectrum = client.spectrum("run/x", nperseg=4096)
    assert spectrum["rate_from"] == "timestamps" and spectrum["rate_hz"] == pytest.approx(50.0)
    assert spectrum["psd"].shape == (1, 2049) and spectrum["frequency"].dtype == np.float64
    assert abs(spectrum["peak_frequency"][0] - 50 / (200 * np.pi)) <= 50 / 4096
    # A clock for an array without timestamps.
    client.put("clocked", np.zeros(5_000, dtype="<f4"))
    assert client.clock("clocked") is None
    clock = client.set_clock("clocked", 1000, start=np.datetime64("2026-03-14T09:00:00", "ns"))
    assert clock["start"] == "2026-03-14T09:00:00.000000000Z" and clock["rate_hz"] == 1000.0
    assert client.clock("clocked") == clock
    assert client.spectrum("clocked", nperseg=256)["rate_from"] == "attached"
    with pytest.raises(downlink.BadRequest, match="rate_hz"):
        client.set_clock("clocked", -1)
    client.remove_clock("clocked")
    assert client.clock("clocked") is None
    with pytest.raises(downlink.NotFound):
        client.set_clock("no-such-array", 10)
    client.delete("clocked")
