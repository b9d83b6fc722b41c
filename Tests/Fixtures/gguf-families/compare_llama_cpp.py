#!/usr/bin/env python3
"""Greedy output of semprog and of llama.cpp's llama-simple on the tiny GGUF files, byte for byte, and (with
--llama-tokenize) the prompt ids of hard texts against llama-tokenize's.

Usage: python3 compare_llama_cpp.py --llama-simple PATH [--llama-tokenize PATH] [--semprog PATH]
llama-simple (llama.cpp 0c1e570, examples/simple) decodes greedily and prints the prompt and each generated token's
bytes; semprog's `generate --json` gives the ids, whose bytes are taken from the file's token list (byte-level map
for gpt2 vocabularies, ▁ → space and <0xXX> → byte for SentencePiece). llama-simple prints with %s, so a token that
is the byte 0x00 prints nothing: NUL bytes are dropped from semprog's side before comparing. Not run by the tests.
"""
import argparse
import ast
import json
import subprocess
from pathlib import Path

import gguf

HERE = Path(__file__).resolve().parent
PROMPTS = ["Tell me a short story about the ocean.", "Barack Obama visited the harbour", "The quick brown fox"]
HARD_TEXTS = PROMPTS + [
    "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
    "3 33 333 3333 33333 3.3 3..3 3...3", "Hello  world\n\n  tabs\tand   spaces \n", "naïve café 日本語 🦙 ✅",
    "   leading spaces", "a<|end_of_text|>b<|im_end|>c<eos>d<bos>"]


def byte_decoder() -> dict:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama-simple", required=True)
    parser.add_argument("--llama-tokenize")
    parser.add_argument("--semprog", default=str(HERE.parents[2] / ".build/release/semprog"))
    args = parser.parse_args()
    inv = byte_decoder()
    same = total = 0
    for family in ["gemma", "gemma2", "gemma3", "qwen3", "llama3"]:
        path = str(HERE / f"{family}.gguf")
        field = gguf.GGUFReader(path).fields["tokenizer.ggml.tokens"]
        tokens = [bytes(field.parts[i]).decode() for i in field.data]

        def raw(i: int) -> bytes:
            t = tokens[i]
            if family.startswith("gemma"):
                return bytes([int(t[3:5], 16)]) if len(t) == 6 and t.startswith("<0x") else t.replace("\u2581", " ").encode()
            return bytes(inv[c] for c in t)

        for p in PROMPTS:
            out = subprocess.run([args.semprog, "generate", "--model", path, "--prompt", p, "--max-tokens", "8",
                                  "--threads", "1", "--json"], capture_output=True, text=True, check=True).stdout
            mine = b"".join(raw(i) for i in json.loads(out)["generated_ids"]).replace(b"\x00", b"")
            theirs = subprocess.run([args.llama_simple, "-m", path, "-n", "8", p], capture_output=True, check=True).stdout
            theirs = theirs.split(p.encode(), 1)[1].rstrip(b"\n")
            total += 1
            same += theirs == mine
            print(f"{family:7s} {p[:24]:24s} {'same' if theirs == mine else 'DIFFERENT'}  llama.cpp {theirs!r}  semprog {mine!r}")
    print(f"{same} of {total} greedy continuations (8 tokens) equal")
    if args.llama_tokenize:
        same = total = 0
        for family in ["gemma", "gemma2", "gemma3", "qwen3", "llama3"]:
            path = str(HERE / f"{family}.gguf")
            for t in HARD_TEXTS:
                out = subprocess.run([args.semprog, "generate", "--model", path, "--prompt", t, "--max-tokens", "0",
                                      "--threads", "1", "--json"], capture_output=True, text=True, check=True).stdout
                mine = json.loads(out)["prompt_ids"]
                theirs = subprocess.run([args.llama_tokenize, "-m", path, "-p", t, "--ids", "--log-disable"],
                                        capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
                total += 1
                if ast.literal_eval(theirs) == mine:
                    same += 1
                else:
                    print(f"{family:7s} {t!r}: llama.cpp {theirs}, semprog {mine}")
        print(f"{same} of {total} prompt tokenizations (BOS as the file says, special tokens parsed) equal")


if __name__ == "__main__":
    main()
