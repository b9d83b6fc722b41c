#!/usr/bin/env python3
"""Writes Tests/Fixtures/dequantization/: for each ggml block type, random blocks (<type>.bin) and what the
`gguf` Python package's `dequantize` makes of them (<type>.f32, little-endian float32). The scale fields (binary16
d / dmin / m) are drawn as finite halves; every other byte is random, so every code path of each format is hit.
Run once by hand (`pip install gguf numpy`); `make test` only reads the files.
"""
import importlib.metadata, os, sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

rng = np.random.default_rng(20261201)
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "dequantization")
os.makedirs(out, exist_ok=True)
# type: (block bytes, offsets of binary16 scale fields)
layouts = {
    "Q4_0": (T.Q4_0, 18, [0]), "Q4_1": (T.Q4_1, 20, [0, 2]), "Q5_0": (T.Q5_0, 22, [0]), "Q5_1": (T.Q5_1, 24, [0, 2]),
    "Q8_0": (T.Q8_0, 34, [0]), "Q2_K": (T.Q2_K, 84, [80, 82]), "Q3_K": (T.Q3_K, 110, [108]),
    "Q4_K": (T.Q4_K, 144, [0, 2]), "Q5_K": (T.Q5_K, 176, [0, 2]), "Q6_K": (T.Q6_K, 210, [208]),
}
for name, (qtype, size, halves) in layouts.items():
    blocks = 6
    raw = rng.integers(0, 256, size=(blocks, size), dtype=np.uint8)
    for off in halves:
        h = (rng.standard_normal(blocks) * 0.05).astype(np.float16)
        raw[:, off:off + 2] = h.view(np.uint8).reshape(blocks, 2)
    elements = blocks * gguf.GGML_QUANT_SIZES[qtype][0]
    values = dequantize(raw.reshape(-1), qtype).astype(np.float32).reshape(-1)
    assert values.size == elements and np.isfinite(values).all()
    raw.tofile(os.path.join(out, name + ".bin"))
    values.astype("<f4").tofile(os.path.join(out, name + ".f32"))
    print(name, elements, file=sys.stderr)
with open(os.path.join(out, "README.md"), "w") as f:
    f.write("Random ggml blocks (`<TYPE>.bin`) and their dequantization by the `gguf` Python package "
            f"{importlib.metadata.version('gguf')} (`gguf.quants.dequantize`, numpy {np.__version__}) as little-endian "
            "float32 (`<TYPE>.f32`). Made by scripts/make-dequantization-fixtures.py (seed 20261201); "
            "ModelFormatsTests checks semprog's dequantization equals these bit for bit.\n")
