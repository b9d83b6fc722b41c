# Pre-tokenizer pieces and full encodings for the Llama 3 and Qwen 2 Split patterns, by Hugging Face tokenizers.
# Usage: python3 make_pretokenizer_fixtures.py ../reference  (pip install tokenizers)
import json, os, sys, tokenizers
from tokenizers import Tokenizer, Regex, pre_tokenizers
L3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
Q2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
texts = ["Tell me a short story about the ocean.", "1 22 333 4444 55555 1234567 3.14159 1,000,000 year2024",
         "it's I'M we'll THEY'RE you've she'd don't 'sup ''s", "你好，世界！日本語のテキスト。한국어 텍스트",
         "emoji 🌍🚀👩‍👩‍👧 ok ✨✨", "a  b   c\t\td \n\n e\r\nf \n", "   leading and trailing   ", "!hello (world) [x]--y ...z",
         "line1\nline2\n\n\nline3  \n  ", "naïve café Ωmega ٣٤٥ arabic-indic ⅫRoman", "x=3;\ty\u00a0z\u2003w", "", "\n", "  ", "'", "a'", "?!\n\nB"]
out = {"made_by": f"tokenizers {tokenizers.__version__}: pre_tokenizers.Split(Regex(pattern), behavior='isolated').pre_tokenize_str(text); "
       "ids from tokenizer.json of Tests/Fixtures/reference/tiny-models/{qwen3,llama3} with pre_tokenizer set to Sequence[Split(pattern), ByteLevel(use_regex=false)] (written here as {llama3,qwen3}-tokenizer-split.json), encode(text, add_special_tokens=False)",
       "patterns": {"llama3": L3, "qwen2": Q2}, "cases": []}
for name, pat in [("llama3", L3), ("qwen2", Q2)]:
    sp = pre_tokenizers.Split(Regex(pat), behavior="isolated")
    for t in texts:
        out["cases"].append({"pattern": name, "text": t, "pieces": [p for p, _ in sp.pre_tokenize_str(t)]})
root = sys.argv[1]  # Tests/Fixtures/reference (reads tiny-models/); writes into this folder
here = os.path.dirname(os.path.abspath(__file__))
for model, name, pat in [("llama3", "llama3", L3), ("qwen3", "qwen2", Q2)]:
    d = json.load(open(f"{root}/tiny-models/{model}/tokenizer.json"))
    d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pat}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    path = f"{here}/{model}-tokenizer-split.json"
    json.dump(d, open(path, "w"), ensure_ascii=False)
    tok = Tokenizer.from_file(path)
    out.setdefault("encodings", []).extend({"model": model, "text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts)
json.dump(out, open(f"{here}/pretokenizers.json", "w"), ensure_ascii=False, indent=1)
