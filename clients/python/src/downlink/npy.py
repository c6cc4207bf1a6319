"""The .npy and bundle formats, without copying array data.

Reading views the bytes of a response in place (`np.frombuffer`); writing sends an array's
own buffer after a header NumPy's `np.lib.format` writes, so an upload never builds a second
copy of the array.
"""

from __future__ import annotations

import io
import json

import numpy as np

MAGIC = b"\x93NUMPY"
BUNDLE_MAGIC = b"DLBUNDLE"


def dtype_of(descr) -> np.dtype:
    """A dtype from NumPy's descr spelling as the API gives it ('<f4', or a list of fields)."""
    if isinstance(descr, str):
        return np.lib.format.descr_to_dtype(descr)
    return np.lib.format.descr_to_dtype([tuple(field) for field in descr])


def read_npy(body) -> np.ndarray:
    """The array of an .npy document, viewing `body` in place (writable if `body` is)."""
    view = memoryview(body)
    if bytes(view[:6]) != MAGIC:
        raise ValueError("not an .npy document")
    length_bytes = 2 if view[6] == 1 else 4
    header_len = int.from_bytes(view[8 : 8 + length_bytes], "little")
    start = 8 + length_bytes + header_len
    stream = io.BytesIO(bytes(view[:start]))
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        shape, fortran_order, dtype = np.lib.format._read_array_header(stream, version)  # noqa: SLF001
    count = int(np.prod(shape, dtype=np.int64))
    data = np.frombuffer(body, dtype=dtype, count=count, offset=start)
    return data.reshape(shape, order="F" if fortran_order else "C")


def npy_parts(array: np.ndarray) -> tuple[list, int]:
    """An .npy document of `array` as [header, data buffer] and its length in bytes.

    C- and Fortran-contiguous arrays send their own memory; anything else (a strided
    view) is made contiguous first, as `np.save` would.
    """
    array = np.asanyarray(array)
    if array.dtype.hasobject:
        raise TypeError("object arrays cannot be sent: Downlink stores plain data only")
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = array.copy(order="C")
    header = io.BytesIO()
    d = np.lib.format.header_data_from_array_1_0(array)
    try:
        np.lib.format.write_array_header_1_0(header, d)
    except ValueError:
        header = io.BytesIO()
        np.lib.format.write_array_header_2_0(header, d)
    data = raw_bytes(array)
    return [header.getvalue(), data], len(header.getvalue()) + data.nbytes


def raw_bytes(array: np.ndarray) -> memoryview:
    """The bytes of a contiguous array in its memory order, as a view (no copy)."""
    flat = array.T if (array.flags.f_contiguous and not array.flags.c_contiguous) else array
    return memoryview(flat.reshape(-1).view(np.uint8))


ALIGN = 64


def bundle_parts(arrays) -> tuple[list, int]:
    """A Downlink bundle of `arrays` ({name: array}) as a list of buffers to send one after
    another, and its length: the header, then each array's own memory (C order; anything
    else is made contiguous first) after zero padding to its 64-byte offset. Nothing is
    concatenated and no array is copied by `tobytes()`."""
    items = []
    for name, array in arrays.items():
        array = np.asanyarray(array)
        if not array.flags.c_contiguous:
            array = array.copy(order="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)
        if array.dtype.hasobject:
            raise TypeError(f"{name}: object arrays cannot be sent")
        items.append((name, array))
    def header_for(offsets):
        entries = [
            {"name": name, "dtype": _descr(array.dtype), "shape": list(array.shape),
             "offset": offset, "nbytes": array.nbytes}
            for (name, array), offset in zip(items, offsets)
        ]
        return json.dumps({"arrays": entries}, separators=(",", ":")).encode()
    # The header's length depends on the offsets' digits: settle it, then pad it to 64.
    offsets = [0] * len(items)
    while True:
        text = header_for(offsets)
        start = -(-(16 + len(text)) // ALIGN) * ALIGN
        placed, at = [], start
        for _, array in items:
            placed.append(at)
            at = -(-(at + array.nbytes) // ALIGN) * ALIGN
        if placed == offsets:
            break
        offsets = placed
    text = text.ljust(start - 16)
    parts = [BUNDLE_MAGIC + (1).to_bytes(4, "little") + len(text).to_bytes(4, "little") + text]
    end = start
    for (_, array), offset in zip(items, offsets):
        if offset > end:
            parts.append(bytes(offset - end))
        parts.append(raw_bytes(array))
        end = offset + array.nbytes
    return parts, end


def _descr(dtype: np.dtype):
    descr = np.lib.format.dtype_to_descr(dtype)
    return descr if isinstance(descr, str) else [list(field) for field in descr]


def read_bundle(body) -> dict[str, np.ndarray]:
    """A Downlink bundle as {name: array}, each a view of `body` in place."""
    view = memoryview(body)
    if bytes(view[:8]) != BUNDLE_MAGIC:
        raise ValueError("not a Downlink bundle")
    header_len = int.from_bytes(view[12:16], "little")
    head = json.loads(bytes(view[16 : 16 + header_len]))
    out = {}
    for entry in head["arrays"]:
        dtype = dtype_of(entry["dtype"])
        count = int(np.prod(entry["shape"], dtype=np.int64))
        out[entry["name"]] = np.frombuffer(body, dtype, count, entry["offset"]).reshape(entry["shape"])
    return out
