"""Writes SAE folders with SAELens itself and, beside each, CASE.expected.json with what SAELens computes.

Needs `pip install sae-lens` (checked with 6.54.12); `make test` does not run this, it reads what it wrote.
Cases: the inference forms SAELens saves for batchtopk and matryoshka_batchtopk training SAEs
(`save_inference_model`, with rescale_acts_by_decoder_norm and non-unit decoder rows), standard SAEs with
normalize_activations constant_norm_rescale and expected_average_only_in (read back by `SAE.load_from_disk`).
Run: python3 make_cases.py"""
import json
import torch
import sae_lens
from sae_lens import SAE
from sae_lens.saes import (BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig, MatryoshkaBatchTopKTrainingSAE,
                           MatryoshkaBatchTopKTrainingSAEConfig, StandardSAE, StandardSAEConfig)

torch.manual_seed(20261201)
D_IN, D_SAE = 16, 24
inputs = torch.randn(6, D_IN) * 2
inputs[0] *= 20  # a large-norm row, like position 0 of a residual stream


def randomise(sae, threshold=None):
    with torch.no_grad():
        for name, p in sae.named_parameters():
            p.copy_(torch.randn_like(p) * (0.3 if name.startswith("W") else 0.1))
        sae.W_dec.mul_(torch.rand(D_SAE, 1) * 2 + 0.25)  # decoder rows of unequal norm
        if threshold is not None:
            sae.topk_threshold = torch.tensor(threshold)


def record(name, note):
    sae = SAE.load_from_disk(name)
    with torch.no_grad():
        acts = sae.encode(inputs)
        recon = sae.decode(acts)
    json.dump({"case": name, "note": note, "sae_lens": sae_lens.__version__, "d_in": D_IN, "d_sae": D_SAE,
               "hook_name": sae.cfg.metadata.hook_name, "inputs": inputs.tolist(), "activations": acts.tolist(),
               "reconstruction": recon.tolist()}, open(name + ".expected.json", "w"))


meta = {"hook_name": "blocks.3.hook_resid_post"}
for cls, cfg_cls, name, extra in [
    (BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig, "batchtopk-inference", {}),
    (MatryoshkaBatchTopKTrainingSAE, MatryoshkaBatchTopKTrainingSAEConfig, "matryoshka-inference", {"matryoshka_widths": [8, 24]}),
]:
    cfg = cfg_cls(d_in=D_IN, d_sae=D_SAE, k=4, rescale_acts_by_decoder_norm=True, **extra)
    cfg.metadata.hook_name = meta["hook_name"]
    sae = cls(cfg)
    randomise(sae, threshold=0.35)
    sae.save_inference_model(name)
    record(name, f"{cls.__name__}.save_inference_model (topk_threshold 0.35, rescale_acts_by_decoder_norm)")

for norm in ["constant_norm_rescale", "expected_average_only_in"]:
    cfg = StandardSAEConfig(d_in=D_IN, d_sae=D_SAE, normalize_activations=norm)
    cfg.metadata.hook_name = meta["hook_name"]
    sae = StandardSAE(cfg)
    randomise(sae)
    name = "standard-" + norm.replace("_", "-")
    sae.save_model(name)
    record(name, f"StandardSAE, normalize_activations {norm}, read by SAE.load_from_disk")
