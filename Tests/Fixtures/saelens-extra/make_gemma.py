"""What SAELens 6.54.12's own Gemma Scope loaders compute from the Gemma Scope fixture files in
../reference/sae-formats (their `hf_hub_download` pointed at those files, as the reference README describes), on
the reference's own inputs. Writes gemma-scope-1.expected.json and gemma-scope-2.expected.json.

Why: the reference's CASE.expected.json for the two Gemma cases equal SAELens with apply_b_dec_to_input = true,
but SAELens' `get_gemma_2_config_from_hf` and `get_gemma_3_config_from_hf` set apply_b_dec_to_input = false
(as DeepMind's reference JumpReLU does); run this to see both. Needs `pip install sae-lens`. Run: python3 make_gemma.py"""
import json
import os
import torch
import sae_lens
import sae_lens.loading.pretrained_sae_loaders as L
from sae_lens import SAE

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference", "sae-formats")


def local(repo_id=None, filename=None, subfolder=None, **kwargs):
    return os.path.join(root, repo_id.split("/")[-1], subfolder or "", filename)


L.hf_hub_download = local
L.get_safetensors_tensor_shapes = lambda repo_id, filename: {
    k: list(v.shape) for k, v in __import__("safetensors.torch", fromlist=["load_file"]).load_file(local(repo_id, filename)).items()}

for out, repo, folder, loader in [
    ("gemma-scope-1", "google/gemma-scope-2b-pt-res", "layer_6/width_16k/average_l0_20", L.gemma_2_sae_huggingface_loader),
    ("gemma-scope-2", "google/gemma-scope-2-270m-pt", "resid_post/layer_6_width_16k_l0_medium", L.gemma_3_sae_huggingface_loader),
]:
    case = repo.split("/")[-1] + "/" + folder
    reference = json.load(open(os.path.join(root, case + ".expected.json")))
    cfg, state, _ = loader(repo, folder, cfg_overrides={"d_in": reference["d_in"], "d_sae": reference["d_sae"]})
    cfg = L.handle_config_defaulting(cfg)
    sae = SAE.from_dict(cfg)
    sae.process_state_dict_for_loading(state)
    sae.load_state_dict(state)
    x = torch.tensor(reference["inputs"])
    with torch.no_grad():
        acts = sae.encode(x)
        recon = sae.decode(acts)
    diff = (acts - torch.tensor(reference["activations"])).abs().max().item()
    print(f"{case}: apply_b_dec_to_input={sae.cfg.apply_b_dec_to_input}, max |SAELens − reference| = {diff:.4f}")
    json.dump({"case": case, "note": f"SAELens {sae_lens.__version__} {loader.__name__} on the reference files",
               "sae_lens": sae_lens.__version__, "hook_name": sae.cfg.metadata.hook_name, "d_in": reference["d_in"],
               "d_sae": reference["d_sae"], "apply_b_dec_to_input": sae.cfg.apply_b_dec_to_input,
               "inputs": reference["inputs"], "activations": acts.tolist(), "reconstruction": recon.tolist()},
              open(out + ".expected.json", "w"))
