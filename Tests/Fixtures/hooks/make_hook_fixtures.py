# Float64 numpy forward of the tiny checkpoints, checked against transformers' stored resid_post, writing
# resid_pre (hidden_states[L]) and mlp_out (the MLP's output; Gemma 2/3 after post_feedforward_layernorm).
import json, math, sys, numpy as np
from safetensors.numpy import load_file
root = sys.argv[1]
out = {"made_by": "numpy 2.4.6 float64 forward of each tiny checkpoint (transformers' modeling_{llama,qwen3,gemma,gemma2,gemma3}.py equations), validated against the resid_post_last transformers stored in reference.json (max relative error reported per family)", "models": {}}
for fam in ["llama3", "qwen3", "gemma", "gemma2", "gemma3"]:
    d = f"{root}/tiny-models/{fam}"
    cfg = json.load(open(f"{d}/config.json")); ref = json.load(open(f"{d}/reference.json"))
    W = {k: v.astype(np.float64) for k, v in load_file(f"{d}/model.safetensors").items()}
    gemma = fam.startswith("gemma"); sandwich = fam in ("gemma2", "gemma3"); qknorm = fam in ("qwen3", "gemma3")
    D, H, KV, hd, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["rms_norm_eps"]
    def norm(x, w): 
        y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
        return y * (1 + w) if gemma else y * w
    def inv_freq(theta):
        f = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
        rs = cfg.get("rope_scaling")
        if rs and rs.get("rope_type") == "llama3":
            orig, lo, hi, fac = rs["original_max_position_embeddings"], rs["low_freq_factor"], rs["high_freq_factor"], rs["factor"]
            wl = 2 * math.pi / f
            smooth = (orig / wl - lo) / (hi - lo)
            f = np.where(wl < orig / hi, f, np.where(wl > orig / lo, f / fac, (1 - smooth) * f / fac + smooth * f))
        return f
    def rope(x, pos, theta):
        a = np.outer(pos, inv_freq(theta)); c, s = np.cos(a), np.sin(a)
        c = np.concatenate([c, c], -1)[:, None, :]; s = np.concatenate([s, s], -1)[:, None, :]
        rot = np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
        return x * c + rot * s
    act = (lambda z: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))) if gemma else (lambda z: z / (1 + np.exp(-z)))
    types = cfg.get("layer_types") or ["full_attention"] * cfg["num_hidden_layers"]
    results = []
    worst = 0.0
    for p in ref["prompts"]:
        ids = p["prompt_ids"]; T = len(ids); pos = np.arange(T)
        x = W["model.embed_tokens.weight"][ids]
        if gemma: x = x * np.float64(np.float32(D ** 0.5))
        pre, mlp = [], []
        for l in range(cfg["num_hidden_layers"]):
            P = f"model.layers.{l}."
            pre.append(x[-1].tolist())
            h = norm(x, W[P + "input_layernorm.weight"])
            q = (h @ W[P + "self_attn.q_proj.weight"].T).reshape(T, H, hd)
            k = (h @ W[P + "self_attn.k_proj.weight"].T).reshape(T, KV, hd)
            v = (h @ W[P + "self_attn.v_proj.weight"].T).reshape(T, KV, hd)
            if qknorm: q, k = norm(q, W[P + "self_attn.q_norm.weight"]), norm(k, W[P + "self_attn.k_norm.weight"])
            sliding = types[l] == "sliding_attention"
            theta = cfg.get("rope_local_base_freq", cfg["rope_theta"]) if (fam == "gemma3" and sliding) else cfg["rope_theta"]
            q, k = rope(q, pos, theta), rope(k, pos, theta)
            k = np.repeat(k, H // KV, axis=1); v = np.repeat(v, H // KV, axis=1)
            scale = cfg.get("query_pre_attn_scalar", hd) ** -0.5 if sandwich else hd ** -0.5
            s = np.einsum("thd,shd->hts", q, k) * scale
            if cfg.get("attn_logit_softcapping"): c = cfg["attn_logit_softcapping"]; s = np.tanh(s / c) * c
            mask = pos[None, :] > pos[:, None]
            if sliding and cfg.get("sliding_window"): mask |= (pos[:, None] - pos[None, :]) >= cfg["sliding_window"]
            s = np.where(mask[None], -np.inf, s); s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
            a = np.einsum("hts,shd->thd", s, v).reshape(T, H * hd) @ W[P + "self_attn.o_proj.weight"].T
            if sandwich: a = norm(a, W[P + "post_attention_layernorm.weight"])
            x = x + a
            h = norm(x, W[P + ("pre_feedforward_layernorm.weight" if sandwich else "post_attention_layernorm.weight")])
            m = (act(h @ W[P + "mlp.gate_proj.weight"].T) * (h @ W[P + "mlp.up_proj.weight"].T)) @ W[P + "mlp.down_proj.weight"].T
            if sandwich: m = norm(m, W[P + "post_feedforward_layernorm.weight"])
            mlp.append(m[-1].tolist())
            x = x + m
            r = np.array(p["resid_post_last"][l])
            mine = x[-1] if l < cfg["num_hidden_layers"] - 1 else norm(x[-1:], W["model.norm.weight"])[0]
            err = np.abs(mine - r).max() / np.abs(r).max()
            worst = max(worst, err)
        results.append({"prompt_ids": ids, "resid_pre_last": pre, "mlp_out_last": mlp})
    print(fam, "max relative error vs transformers resid_post:", worst)
    assert worst < 1e-4, fam
    out["models"][fam] = {"validation_max_relative_error": worst, "prompts": results}
json.dump(out, open(sys.argv[2], "w"), indent=0)
