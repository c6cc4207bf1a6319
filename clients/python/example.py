import numpy as np
import downlink

def example(base: str, token: str | None = None) -> np.ndarray:
    """Write, append, read back and link to a chart (base = "http://127.0.0.1:3000")."""
    dl = downlink.Client(base, token=token)
    t = np.datetime64("2026-03-14T09:00", "ns") + np.arange(1000) * np.timedelta64(20, "ms")
    dl.put("scripts/t", t)                                        # 50 Hz timestamps
    dl.put("scripts/wave", np.sin(np.arange(1000) / 50).astype("<f4"))   # sent as it is, no copy
    envelope = dl.lod("scripts/wave", t0="2026-03-14T09:00:05Z",  # min/max per bin, exact,
                      t1="2026-03-14T09:00:10Z", bins=50)         # of five seconds
    dl.append("scripts/wave", np.zeros(100, dtype="<f4"))         # 1,100 samples now
    x = dl.get("scripts/wave", dtype="<f8")                       # converted by the server
    pair = dl.get_many(["scripts/t", "scripts/wave"], slice=":10")  # one request, zero-copy views
    print(len(pair), envelope.value.shape)                        # 2 (1, 50, 4)
    print(dl.url("scripts/wave", (0, 500)))                       # a link to the chart of that window
    try:
        dl.get("scripts/nothing")
    except downlink.NotFound as err:                              # typed, with the server's message
        print(err.message)
    return x
