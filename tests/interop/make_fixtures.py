"""Write NumPy-made fixture arrays into a directory (used by the interop and browser tests).

Every file is written by NumPy itself, so the tests prove that Downlink reads what NumPy
writes. A few deliberately bad files sit beside them: Downlink must skip them, not serve them.
Usage: make_fixtures.py DIR
"""

import sys
from pathlib import Path

import numpy as np


def fixtures():
    """Name -> array of every valid fixture (names relative to the fixture directory)."""
    rng = np.random.default_rng(7)
    return {
        "ramp": np.arange(1000, dtype="<f8"),
        "big_endian": np.arange(-50, 50, dtype=">i2"),
        "bytes_u1": np.arange(256, dtype="u1"),
        "flags": np.array([True, False, True]),
        "half": np.linspace(-2, 2, 9, dtype="<f2"),
        "complex": (np.arange(6) + 1j * np.arange(6)[::-1]).astype("<c16"),
        "matrix_f": np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)),
        "cube": rng.standard_normal((4, 3, 2)).astype(">f8"),
        "scalar": np.array(3.5, dtype="<f8"),
        "empty": np.zeros((0, 3), dtype="<i4"),
        "when": np.array(["2024-01-01T00:00:00.000000001", "2024-06-30T12:34:56.789"], dtype="datetime64[ns]"),
        "durations": np.array([1, 2, 3], dtype="timedelta64[ms]"),
        "names": np.array(["alpha", "beta", "γ"], dtype="<U5"),
        "tags": np.array([b"ab", b"cde"], dtype="S3"),
        "record": np.array(
            [(1.5, [1, 2, 3]), (2.5, [4, 5, 6])], dtype=[("x", "<f4"), ("y", "<i2", (3,))]
        ),
        "nested/deep/leaf": np.arange(5, dtype="<i8"),
    }


def group():
    """Members of the fixture .npz group `fixtures/run` (stored) and `fixtures/packed` (deflated)."""
    return {"a": np.arange(10, dtype="<f4"), "b": np.eye(3, dtype="<f8")}


GAPPY_START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
GAPPY_RATE_HZ = 10
GAPPY_PASS = 3000  # samples per pass: five minutes
GAPPY_GAP_NS = 60 * 60 * 1_000_000_000  # an hour of loss of signal between passes


def gappy():
    """A group of two passes at 10 Hz with an hour's gap between them: `t` and `x`."""
    i = np.arange(2 * GAPPY_PASS, dtype=np.int64)
    t = GAPPY_START_NS + i * (1_000_000_000 // GAPPY_RATE_HZ) + (i >= GAPPY_PASS) * GAPPY_GAP_NS
    return {"t": t.view("<M8[ns]"), "x": np.sin(i / 40.0).astype("<f4")}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, array in fixtures().items():
        path = out / f"{name}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array)
    np.savez(out / "run.npz", **group())
    (out / "gappy").mkdir(exist_ok=True)
    for name, array in gappy().items():
        np.save(out / "gappy" / f"{name}.npy", array)
    np.savez_compressed(out / "packed.npz", **group())
    # NumPy's other header versions.
    with open(out / "v2.npy", "wb") as f:
        np.lib.format.write_array(f, np.arange(7, dtype="<u4"), version=(2, 0))
    with open(out / "v3.npy", "wb") as f:
        np.lib.format.write_array(f, np.zeros(2, dtype=[("é", "<f4")]), version=(3, 0))
    # Files Downlink must skip: hidden, a name with a space, garbage, truncated data.
    np.save(out / ".hidden.npy", np.arange(3))
    np.save(out / "bad name.npy", np.arange(3))
    (out / "garbage.npy").write_bytes(b"this is not an npy file at all")
    whole = (out / "ramp.npy").read_bytes()
    (out / "truncated.npy").write_bytes(whole[: len(whole) // 2])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py DIR")
    main(Path(sys.argv[1]))
