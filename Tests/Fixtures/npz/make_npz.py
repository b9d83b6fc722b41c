"""Writes the NPZ reader's fixtures with numpy itself (the independent writer): `compressed.npz`
(numpy.savez_compressed: deflated members), `stored.npz` (numpy.savez: stored members) and `expected.json`
(each array's shape and values in C order, as numpy reads them back). Run: python3 make_npz.py"""
import json
import numpy as np

rng = np.random.default_rng(20261201)
arrays = {
    "w_enc": rng.standard_normal((3, 4)).astype("<f4"),
    "b_dec": rng.standard_normal(5).astype("<f8"),
    "fortran": np.asfortranarray(rng.standard_normal((2, 3)).astype("<f4")),
    "big_endian": rng.standard_normal(2).astype(">f4"),
    "half": rng.standard_normal(3).astype("<f2"),
    "cube": np.asfortranarray(rng.standard_normal((2, 3, 4)).astype("<f4")),
    "empty": np.zeros((0, 4), dtype="<f4"),
}
np.savez_compressed("compressed.npz", **arrays)
np.savez("stored.npz", **arrays)
with np.load("compressed.npz") as z:
    expected = {k: {"shape": list(z[k].shape), "descr": z[k].dtype.str,
                    "values": [float(v) for v in np.ascontiguousarray(z[k]).astype(np.float64).ravel()]}
                for k in z.files}
with open("expected.json", "w") as f:
    json.dump({"numpy": np.__version__, "arrays": expected}, f, indent=1)
