#!/usr/bin/env python3
"""Makes the tiny F32 GGUF files of Tests/Fixtures/gguf-families/ with llama.cpp's own convert_hf_to_gguf.py.

For each of the five tiny checkpoints in Tests/Fixtures/reference/tiny-models/ (gemma, gemma2, gemma3, qwen3,
llama3) the script
  1. copies the checkpoint into a temporary folder and gives the copy the tokenizer files its real family ships
     (see FAMILY_TOKENIZERS below and README.md): a SentencePiece `tokenizer.model` for the Gemma families (built
     from tokenizer.json: the same pieces, merge order as scores), the post-processor that adds BOS (Gemma, Llama 3),
     and the Llama 3 / Qwen 2 pre-tokenizer (Split regex + ByteLevel). It checks that the copy's tokenizer (Hugging
     Face tokenizers, and SentencePiece for tokenizer.model) still gives the reference's prompt ids;
  2. copies llama.cpp's converter (convert_hf_to_gguf.py, conversion/, gguf-py/) into a temporary folder and applies
     the two patches listed in PATCHES (both documented in README.md);
  3. runs the patched converter with --outtype f32 into <family>.gguf here;
  4. for llama3 only: writes llama3-reference.json, the tiny reference recomputed with transformers from the copy,
     whose greedy ids continue the prompt *with* BOS (the copied reference's generated_ids continue it without BOS).

Usage: python3 make_gguf_families.py [--llama-cpp DIR]   (DIR: llama.cpp 0c1e570 sources; default below)
Needs: torch, transformers, sentencepiece, protobuf, safetensors (versions are printed and go into README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKPOINTS = HERE.parent / "reference" / "tiny-models"
DEFAULT_LLAMA_CPP = Path("/work/peer/llama_cpp_python-0.3.36/vendor/llama.cpp")
FAMILIES = ["gemma", "gemma2", "gemma3", "qwen3", "llama3"]

LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

# The tokenizer.ggml.pre name of each byte-level family, which the converter cannot find by its hash of the tiny
# tokenizer's output (patch 1).
TOKENIZER_PRE = {"qwen3": "qwen2", "llama3": "llama-bpe"}

PATCHES = [
    # 1. The pre-tokenizer is recognised by the sha256 of the tokenizer's ids on a test text; a tiny vocabulary gives
    #    an unknown hash, so instead of raising, take the family's name from SEMPROG_TOKENIZER_PRE.
    ("conversion/base.py",
     '            raise NotImplementedError("BPE pre-tokenizer was not recognized - update get_vocab_base_pre()")',
     '            res = os.environ["SEMPROG_TOKENIZER_PRE"]  # semprog patch 1: tiny tokenizer, unknown hash'),
    # 2. Gemma 3: the converter writes no sliding-window pattern, so llama.cpp assumes 5 of every 6 layers slide
    #    (true of every real Gemma 3, false of the tiny one whose layer_types are [s, s, s, full]). Write the
    #    per-layer pattern from layer_types, as the converter already does for Gemma 3n and Gemma 4.
    ("conversion/gemma.py",
     '            self.gguf_writer.add_sliding_window(hparams["sliding_window"])\n',
     '            self.gguf_writer.add_sliding_window(hparams["sliding_window"])\n'
     '            if "layer_types" in hparams:  # semprog patch 2: the tiny model is not 5-of-6\n'
     '                self.gguf_writer.add_sliding_window_pattern([t == "sliding_attention" for t in hparams["layer_types"]])\n'),
]


def bos_post_processor(bos: str, bos_id: int) -> dict:
    """The TemplateProcessing post-processor of Gemma's and Llama 3's tokenizer.json: BOS, then the text."""
    return {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
    }


def split_pre_tokenizer(pattern: str) -> dict:
    """Llama 3's and Qwen 2's pre-tokenizer: Split(regex, Isolated) then ByteLevel without its own regex."""
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}


def sentencepiece_model(tokenizer_json: dict, config: dict) -> bytes:
    """A SentencePiece BPE ModelProto with the tokenizer.json's pieces in id order. Scores carry the merge order
    (the token made by merge rule r scores −r; single characters score below every merge), which is how a
    SentencePiece BPE model (and llama.cpp's SPM tokenizer) ranks merges; control/unknown/byte tokens get their types."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    vocab = tokenizer_json["model"]["vocab"]
    pieces = {i: t for t, i in vocab.items()}
    for a in tokenizer_json["added_tokens"]:
        pieces[a["id"]] = a["content"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer_json["model"]["merges"]]
    merged_rank = {}
    for r, m in enumerate(merges):
        left, right = m.split(" ", 1)
        merged_rank.setdefault(left + right, r)
    special = {a["id"] for a in tokenizer_json["added_tokens"] if a["special"]}
    unk = tokenizer_json["model"].get("unk_token")
    model = pb.ModelProto()
    model.trainer_spec.model_type = pb.TrainerSpec.BPE
    model.trainer_spec.vocab_size = len(pieces)
    model.trainer_spec.byte_fallback = True
    model.trainer_spec.pad_id = config.get("pad_token_id", 0)
    model.trainer_spec.eos_id = config["eos_token_id"]
    model.trainer_spec.bos_id = config["bos_token_id"]
    model.trainer_spec.unk_id = vocab[unk]
    model.normalizer_spec.name = "identity"
    model.normalizer_spec.add_dummy_prefix = False
    model.normalizer_spec.remove_extra_whitespaces = False
    model.normalizer_spec.escape_whitespaces = True
    for i in range(len(pieces)):
        text = pieces[i]
        p = model.pieces.add()
        p.piece = text
        if text == unk:
            p.type, p.score = pb.ModelProto.SentencePiece.UNKNOWN, 0.0
        elif len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
            p.type, p.score = pb.ModelProto.SentencePiece.BYTE, 0.0
        elif i in special:
            p.type, p.score = pb.ModelProto.SentencePiece.CONTROL, 0.0
        else:
            p.type = pb.ModelProto.SentencePiece.NORMAL
            p.score = -float(merged_rank[text]) if text in merged_rank else -float(len(merges) + i)
    return model.SerializeToString()


def prepare_checkpoint(family: str, out: Path, reference: dict) -> None:
    """The copy of the tiny checkpoint with its real family's tokenizer files; checks the prompt ids."""
    src = CHECKPOINTS / family
    shutil.copytree(src, out)
    (out / "reference.json").unlink()
    config = json.loads((src / "config.json").read_text())
    tok = json.loads((src / "tokenizer.json").read_text())
    if family.startswith("gemma"):
        tok["post_processor"] = bos_post_processor("<bos>", config["bos_token_id"])
        (out / "tokenizer.model").write_bytes(sentencepiece_model(tok, config))
    elif family == "llama3":
        tok["pre_tokenizer"] = split_pre_tokenizer(LLAMA3_PATTERN)
        tok["model"]["ignore_merges"] = True
        tok["post_processor"] = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            bos_post_processor("<|begin_of_text|>", config["bos_token_id"])]}
    elif family == "qwen3":
        tok["pre_tokenizer"] = split_pre_tokenizer(QWEN2_PATTERN)
        tok["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False, indent=2))

    from transformers import AutoTokenizer
    t = AutoTokenizer.from_pretrained(out)
    for p in reference["prompts"]:
        ids = t(p["prompt"])["input_ids"]
        assert ids == p["prompt_ids"], f"{family}: the prepared tokenizer gives {ids} for {p['prompt']!r}, the reference {p['prompt_ids']}"
    if family.startswith("gemma"):
        import sentencepiece
        sp = sentencepiece.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
        for p in reference["prompts"]:
            ids = ([config["bos_token_id"]] if reference["add_bos"] else []) + sp.encode(p["prompt"])
            assert ids == p["prompt_ids"], f"{family}: tokenizer.model gives {ids} for {p['prompt']!r}, the reference {p['prompt_ids']}"


def patched_converter(llama_cpp: Path, work: Path) -> Path:
    """A copy of llama.cpp's converter with PATCHES applied; returns the script's path."""
    dst = work / "converter"
    dst.mkdir()
    shutil.copy(llama_cpp / "convert_hf_to_gguf.py", dst)
    shutil.copytree(llama_cpp / "conversion", dst / "conversion")
    shutil.copytree(llama_cpp / "gguf-py", dst / "gguf-py")
    for rel, old, new in PATCHES:
        path = dst / rel
        text = path.read_text()
        assert text.count(old) == 1, f"patch target not found once in {rel}: {old!r}"
        path.write_text(text.replace(old, new))
    return dst / "convert_hf_to_gguf.py"


def corrected_llama3_reference(checkpoint: Path, reference: dict) -> dict:
    """The tiny llama3 reference recomputed with transformers (float32, eager) on the prepared copy: prompt ids with
    BOS, last-position logits, resid_post (hidden_states[L+1]) of the last position, and 24 greedy ids with their
    margins (top-1 minus top-2 logit) continuing the prompt *with* BOS."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(checkpoint, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    out = {"made_by": None, "add_bos": reference["add_bos"], "prompts": []}
    worst_logits = worst_resid = 0.0
    with torch.no_grad():
        for p in reference["prompts"]:
            ids = list(p["prompt_ids"])
            assert ids[0] == model.config.bos_token_id
            o = model(torch.tensor([ids]), output_hidden_states=True)
            logits = o.logits[0, -1].tolist()
            resid = [h[0, -1].tolist() for h in o.hidden_states[1:]]
            scale = max(abs(v) for v in p["last_logits"])
            worst_logits = max(worst_logits, max(abs(a - b) for a, b in zip(logits, p["last_logits"])) / scale)
            for mine, theirs in zip(resid, p["resid_post_last"]):
                s = max(abs(v) for v in theirs)
                worst_resid = max(worst_resid, max(abs(a - b) for a, b in zip(mine, theirs)) / s)
            seq, generated, margins = list(ids), [], []
            for _ in range(24):
                z = model(torch.tensor([seq])).logits[0, -1]
                top = torch.topk(z, 2)
                generated.append(int(top.indices[0]))
                margins.append(round(float(top.values[0] - top.values[1]), 5))
                seq.append(generated[-1])
            out["prompts"].append({"prompt": p["prompt"], "prompt_ids": ids, "generated_ids": generated,
                                   "margins": margins, "last_logits": logits, "resid_post_last": resid})
    import transformers
    out["made_by"] = (f"transformers {transformers.__version__}, torch {torch.__version__}, float32, eager attention; "
                      f"make_gguf_families.py from the tiny llama3 checkpoint with BOS-adding tokenizer; "
                      f"greedy ids continue the prompt with BOS")
    print(f"llama3: recomputed logits / resid_post differ from the copied reference by at most "
          f"{worst_logits:.2e} / {worst_resid:.2e} (relative to max |value|)")
    assert worst_logits < 1e-5 and worst_resid < 1e-5
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llama-cpp", type=Path, default=DEFAULT_LLAMA_CPP)
    args = parser.parse_args()
    import sentencepiece, torch, transformers, google.protobuf
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, sentencepiece {sentencepiece.__version__}, "
          f"protobuf {google.protobuf.__version__}, python {sys.version.split()[0]}")
    commit = subprocess.run(["git", "-C", str(args.llama_cpp), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"llama.cpp {commit or '(no git metadata)'} at {args.llama_cpp}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        script = patched_converter(args.llama_cpp, work)
        for family in FAMILIES:
            reference = json.loads((CHECKPOINTS / family / "reference.json").read_text())
            checkpoint = work / family
            prepare_checkpoint(family, checkpoint, reference)
            target = HERE / f"{family}.gguf"
            env = dict(os.environ, SEMPROG_TOKENIZER_PRE=TOKENIZER_PRE.get(family, ""))
            subprocess.run([sys.executable, str(script), str(checkpoint), "--outtype", "f32", "--outfile", str(target)],
                           check=True, env=env, stdout=subprocess.DEVNULL)
            print(f"{family}: {target.name}, {target.stat().st_size} bytes")
            if family == "llama3":
                corrected = corrected_llama3_reference(checkpoint, reference)
                (HERE / "llama3-reference.json").write_text(json.dumps(corrected) + "\n")
                changed = sum(a["generated_ids"] != b["generated_ids"] for a, b in zip(corrected["prompts"], reference["prompts"]))
                print(f"llama3-reference.json: generated ids differ from the copied reference in {changed} of {len(reference['prompts'])} prompts")


if __name__ == "__main__":
    main()
