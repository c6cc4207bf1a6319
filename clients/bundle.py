import json, numpy as np

def decode_bundle(body: bytes) -> dict:
    """Downlink bundle -> {name: ndarray}, each a zero-copy view of `body`."""
    assert body[:8] == b"DLBUNDLE", "not a Downlink bundle"
    head = json.loads(body[16:16 + int.from_bytes(body[12:16], "little")])
    dtype = lambda d: np.lib.format.descr_to_dtype(d if isinstance(d, str) else [tuple(f) for f in d])
    return {a["name"]: np.frombuffer(body, dtype(a["dtype"]), int(np.prod(a["shape"])), a["offset"]).reshape(a["shape"])
            for a in head["arrays"]}
