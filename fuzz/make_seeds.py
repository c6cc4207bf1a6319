"""Write the seed inputs of the three fuzz targets into fuzz/corpus/<target>/.

The .npy seeds are written by NumPy itself (every header version, a record, Fortran order,
0-d, empty), so the fuzzer starts from what real clients send. Bundles are built by hand
from the layout documented at the top of src/wire/bundle.rs. Seeds are named `seed-*` so
they can be told apart from what the fuzzer adds; `cargo fuzz cmin` renames what it keeps.
Usage: python3 fuzz/make_seeds.py
"""

import io
import json
import struct
from pathlib import Path

import numpy as np

CORPUS = Path(__file__).resolve().parent / "corpus"
BUNDLE_ALIGN = 64


def npy_bytes(array, version=None):
    """The .npy document NumPy writes for `array` (lowest version that fits if None)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


def npy_seeds():
    """Name -> .npy document, small enough to mutate quickly."""
    record = np.dtype([("x", "<f4"), ("tag", "S3"), ("y", ">i2", (2,))])
    padded = np.dtype({"names": ["a", "b"], "formats": ["u1", "<f8"], "offsets": [0, 8], "itemsize": 16})
    return {
        "f4_v1": npy_bytes(np.arange(3, dtype="<f4")),
        "u4_v2": npy_bytes(np.arange(5, dtype="<u4"), version=(2, 0)),
        "unicode_record_v3": npy_bytes(np.zeros(2, dtype=[("é", "<f4"), ("名", "<i8")]), version=(3, 0)),
        "record": npy_bytes(np.array([(1.5, b"ab", [1, 2]), (2.5, b"cde", [3, 4])], dtype=record)),
        "record_padding": npy_bytes(np.zeros(2, dtype=padded)),
        "fortran_f8_be": npy_bytes(np.asfortranarray(np.arange(6, dtype=">f8").reshape(2, 3))),
        "scalar_0d": npy_bytes(np.array(3.5, dtype="<f8")),
        "empty": npy_bytes(np.zeros((0, 3), dtype="<i4")),
        "bool": npy_bytes(np.array([True, False, True])),
        "f2": npy_bytes(np.linspace(-2, 2, 5, dtype="<f2")),
        "c16": npy_bytes((np.arange(2) + 1j).astype("<c16")),
        "datetime_ns": npy_bytes(np.array(["2024-01-01T00:00:00.000000001"], dtype="datetime64[ns]")),
        "timedelta_ms": npy_bytes(np.array([1, 2], dtype="timedelta64[ms]")),
        "unicode": npy_bytes(np.array(["alpha", "γ"], dtype="<U5")),
        "void": npy_bytes(np.zeros(2, dtype="V3")),
    }


def bundle(arrays):
    """A bundle body from (name, dtype JSON, shape, data bytes) tuples, per bundle.rs."""
    entries = []
    header_end = BUNDLE_ALIGN
    while True:
        entries, offset = [], header_end
        for name, dtype, shape, data in arrays:
            entries.append({"name": name, "dtype": dtype, "shape": shape, "offset": offset, "nbytes": len(data)})
            offset = (offset + len(data) + BUNDLE_ALIGN - 1) // BUNDLE_ALIGN * BUNDLE_ALIGN
        text = json.dumps({"arrays": entries}, separators=(",", ":"), ensure_ascii=False).encode()
        needed = (16 + len(text) + BUNDLE_ALIGN - 1) // BUNDLE_ALIGN * BUNDLE_ALIGN
        if needed <= header_end:
            break
        header_end = needed
    body = bytearray(b"DLBUNDLE" + struct.pack("<II", 1, header_end - 16) + text)
    body.extend(b" " * (header_end - len(body)))
    for entry, (_, _, _, data) in zip(entries, arrays):
        body.extend(b"\0" * (entry["offset"] - len(body)))
        body.extend(data)
    return bytes(body)


def bundle_seeds():
    """Name -> bundle body."""
    record = np.array([(1.0, b"ab"), (2.0, b"c")], dtype=[("x", "<f8"), ("tag", "S2")])
    return {
        "one_f4": bundle([("a", "<f4", [3], np.arange(3, dtype="<f4").tobytes())]),
        "mixed": bundle(
            [
                ("a", "<f4", [3], np.arange(3, dtype="<f4").tobytes()),
                ("points", [["x", "<f8"], ["tag", "|S2"]], [2], record.tobytes()),
                ("名前", ">u2", [2, 5], np.arange(10, dtype=">u2").tobytes()),
                ("empty", "<i8", [0, 4], b""),
                ("sub", [["v", "<i2", [3]]], [1], np.arange(3, dtype="<i2").tobytes()),
            ]
        ),
        "empty_bundle": bundle([]),
    }


def main():
    npy = npy_seeds()
    targets = {
        "npy_decode": {
            **npy,
            "literal": b"{'descr': [('x', '<f4', (2,))], 'fortran_order': False, 'shape': (3,), }",
            "trailing": npy["f4_v1"] + b"\0" * 8,
        },
        "bundle_decode": bundle_seeds(),
        "upload": {
            **npy,
            "truncated": npy["f4_v1"][:-4],
            # Case (c) of the upload oracle reads a claimed length from the first 8 bytes.
            "claimed_len": struct.pack("<Q", len(npy["u4_v2"])) + npy["u4_v2"],
        },
    }
    for target, seeds in targets.items():
        directory = CORPUS / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (directory / f"seed-{name}").write_bytes(data)


if __name__ == "__main__":
    main()
