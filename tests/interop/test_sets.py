"""Several arrays in one upload, against the release binary: `PUT /api/bundle` through the
Python client's put_many (streamed from the arrays' buffers), and `.npz` archives PUT to a
group name (np.savez and np.savez_compressed). All or none, under concurrent readers, and a
malformed or hostile body leaves everything as it was."""

import io
import struct
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from make_fixtures import fixtures  # noqa: E402
from server import Server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "seed").mkdir()  # not empty: no demo data set
    running = Server(data, env={"DOWNLINK_MAX_UPLOAD": str(64 << 20)})
    yield running
    running.stop()


@pytest.fixture()
def client(downlink, server):
    return downlink.Client(server.base)


def raw_put(server, path, body, content_type):
    request = urllib.request.Request(f"{server.base}{path}", data=body, method="PUT",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_put_many_round_trips_every_dtype(client):
    arrays = {f"every/{name}": array for name, array in fixtures().items()}
    stored = client.put_many(arrays)
    assert [a.name for a in stored] == list(arrays)
    for name, array in arrays.items():
        back = client.get(name)
        assert back.dtype == array.dtype, name
        assert back.shape == array.shape, name
        np.testing.assert_array_equal(back, array, err_msg=name)


def test_readers_see_the_old_set_or_the_new_one(client, downlink, server):
    """A writer replaces {a, b} with ever newer pairs; readers' bundles never mix two."""
    client.put_many({"pair/a": np.zeros(50_000), "pair/b": np.zeros(50_000)})

    def write(v):
        client.put_many({"pair/a": np.full(50_000, v, dtype="<f8"), "pair/b": np.full(50_000, v, dtype="<f8")})

    reads, mixed = read_while_writing(downlink, server, ["pair/a", "pair/b"], write, rounds=100, readers=4)
    assert reads > 50 and not mixed, f"{len(mixed)} of {reads} bundles mixed two sets: {mixed[:3]}"


def read_while_writing(downlink, server, pair, write, rounds, readers):
    """Call write(1) ... write(rounds) while `readers` threads read the two arrays `pair` in
    one bundle each time; how many reads there were, and the (first, second) values of
    those that saw two different writes (each write fills both with its number)."""
    stop, mixed, reads = threading.Event(), [], [0]
    first, second = pair

    def read():
        reader = downlink.Client(server.base)
        while not stop.is_set():
            got = reader.get_many(pair)
            if got[first][0] != got[second][-1]:
                mixed.append((got[first][0], got[second][-1]))
            reads[0] += 1

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for t in threads:
        t.start()
    try:
        for v in range(1, rounds + 1):
            write(v)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return reads[0], mixed


def test_a_malformed_bundle_leaves_everything_as_it_was(client, downlink, server):
    from downlink.npy import bundle_parts

    client.put_many({"kept/a": np.arange(4.0), "kept/b": np.arange(3)})
    before = {a.name: a.etag for a in client.list()}
    parts, _ = bundle_parts({"kept/a": np.full(4, 9.0), "kept/b": np.full(3, 9)})
    body = b"".join(bytes(p) for p in parts)
    for cut in (len(body) - 1, 100, 20, 8):
        status, answer = raw_put(server, "/api/bundle", body[:cut], "application/x-downlink-bundle")
        assert status == 422, (cut, answer)
        assert b"nothing was stored" in answer
    status, _ = raw_put(server, "/api/bundle", body + b"\0", "application/x-downlink-bundle")
    assert status == 422
    with pytest.raises(downlink.Unprocessable):
        client.put_many({"kept/a": np.zeros(2), "../escape": np.zeros(2)})
    assert {a.name: a.etag for a in client.list()} == before
    np.testing.assert_array_equal(client.get("kept/a"), np.arange(4.0))


def npz_bytes(compressed: bool, **arrays) -> bytes:
    out = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(out, **arrays)
    return out.getvalue()


def test_npz_files_replace_a_group_whole(client, tmp_path):
    t = np.datetime64("2026-01-01T00:00", "ms") + np.arange(1000).astype("m8[ms]")
    x = np.sin(np.arange(1000) / 10).astype(">f4")
    path = tmp_path / "run7.npz"
    np.savez(path, t=t, x=x, old=np.arange(2))
    stored = client.put_group("runs/run7", path)
    assert sorted(a.name for a in stored) == ["runs/run7/old", "runs/run7/t", "runs/run7/x"]
    np.testing.assert_array_equal(client.get("runs/run7/x"), x)
    assert client.get("runs/run7/x").dtype.str == ">f4"

    client.put_group("runs/run7", npz_bytes(True, t=t[:10], x=x[:10]))
    names = sorted(a.name for a in client.list() if a.name.startswith("runs/run7/"))
    assert names == ["runs/run7/t", "runs/run7/x"], "the new archive is the whole group"
    np.testing.assert_array_equal(client.get("runs/run7/t"), t[:10])
    # The group's timestamps chart it: LOD by time works on what the archive held.
    lod = client.lod("runs/run7/x", t0=t[0], t1=t[10], bins=5)
    np.testing.assert_array_equal(lod.window, [0, 10])


def overlapping_zip() -> bytes:
    """Two central-directory entries that point at the same member's data."""
    body = npz_bytes(False, a=np.arange(1000))
    eocd = body.rindex(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack("<HII", body[eocd + 10:eocd + 20])
    entry = body[cd_offset:cd_offset + cd_size]
    twin = entry.replace(b"a.npy", b"b.npy")
    tail = bytearray(body[eocd:])
    struct.pack_into("<HHII", tail, 8, 2, 2, cd_size * 2, cd_offset)
    return body[:cd_offset] + entry + twin + bytes(tail)


def test_hostile_archives_are_refused_and_nothing_is_stored(client, downlink, server):
    client.put_group("hostile", npz_bytes(False, a=np.arange(3)))
    before = {a.name: a.etag for a in client.list()}
    overlap = overlapping_zip()
    assert len(zipfile.ZipFile(io.BytesIO(overlap)).namelist()) == 2
    status, answer = raw_put(server, "/api/arrays/hostile", overlap, "application/zip")
    assert status == 422 and b"overlap" in answer, answer
    # 256 MB of zeros in well under a megabyte: past the 64 MB limit as it inflates.
    bomb = npz_bytes(True, a=np.zeros(256 << 20, dtype="u1"))
    assert len(bomb) < 1 << 20
    with pytest.raises(downlink.PayloadTooLarge):
        client.put_group("hostile", bomb)
    status, answer = raw_put(server, "/api/arrays/hostile", b"PK\x03\x04 not a zip", "application/zip")
    assert status == 422, answer
    assert {a.name: a.etag for a in client.list()} == before
    np.testing.assert_array_equal(client.get("hostile/a"), np.arange(3))


def test_an_npz_file_in_the_data_directory_is_replaced_whole(client, downlink, server):
    """A group that is an .npz file (written by NumPy into the data directory) takes a new
    archive as sent: one rename, so readers see the old members or the new ones, and a bad
    archive leaves the file as it was, byte for byte."""
    file = server.data / "files" / "pass9.npz"
    file.parent.mkdir(exist_ok=True)
    np.savez(file, a=np.zeros(50_000), b=np.zeros(50_000), gone=np.arange(3))
    assert sorted(a.name for a in client.list() if a.name.startswith("files/pass9/")) == [
        "files/pass9/a", "files/pass9/b", "files/pass9/gone"]

    sent = {}

    def write(v):
        sent["body"] = npz_bytes(v % 2 == 0, a=np.full(50_000, v, dtype="<f8"), b=np.full(50_000, v, dtype="<f8"))
        stored = client.put_group("files/pass9", sent["body"])
        assert sorted(a.name for a in stored) == ["files/pass9/a", "files/pass9/b"]

    reads, mixed = read_while_writing(downlink, server, ["files/pass9/a", "files/pass9/b"], write, rounds=40,
                                      readers=3)
    assert reads > 20 and not mixed, f"{len(mixed)} of {reads} bundles mixed two archives: {mixed[:3]}"
    body = sent["body"]
    assert file.read_bytes() == body, "the archive is stored as it was sent"
    names = sorted(a.name for a in client.list() if a.name.startswith("files/pass9/"))
    assert names == ["files/pass9/a", "files/pass9/b"], "members the new archive lacks are gone"

    before = file.read_bytes()
    status, answer = raw_put(server, "/api/arrays/files/pass9", body[:-30], "application/zip")
    assert status == 422 and b"nothing was stored" in answer, answer
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.npy", b"\x93NUMPX not an .npy")
    bad = out.getvalue()
    status, answer = raw_put(server, "/api/arrays/files/pass9", bad, "application/zip")
    assert status == 422 and b"not a valid .npy" in answer, answer
    assert file.read_bytes() == before
    np.testing.assert_array_equal(client.get("files/pass9/a"), np.full(50_000, 40.0))
