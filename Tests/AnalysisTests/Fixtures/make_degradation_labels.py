#!/usr/bin/env python3
"""Builds degradation_labels.json, the labelled set of real outputs for DegradationLabelledSetTests.

  sample: python3 make_degradation_labels.py sample DB OUT.tsv   (seeded sample of the demo's generations)
  build:  python3 make_degradation_labels.py build DB LABELS.tsv degradation_labels.json

The sample takes every output of the sweep 'demo' for its first two prompts (prompt ids 1 and 2: all 12 features x
16 magnitudes), plus every output of the other prompts that issue #23 names. LABELS.tsv is the sample with a hand-written label column
(generation id, label 0/1); the labelling rule is in README.md beside this file. Perplexities come from the
database's generation_metrics (an analysis run with --model).
"""
import json, sqlite3, struct, sys

def rows(db):
    con = sqlite3.connect(db)
    q = """SELECT g.id, g.feature_index, g.prompt_id, g.magnitude, g.text, g.token_ids, m.perplexity
           FROM generations g JOIN sweeps s ON s.id = g.sweep_id LEFT JOIN generation_metrics m ON m.generation_id = g.id
           WHERE s.name = 'demo' ORDER BY g.id"""
    out = []
    for gid, f, p, mag, text, blob, ppl in con.execute(q):
        ids = list(struct.unpack("<%di" % (len(blob) // 4), blob)) if blob is not None else None
        out.append(dict(id=gid, feature=f, prompt=p, magnitude=mag, text=text, token_ids=ids, perplexity=ppl))
    return out

NAMED = ["please}}}}", "thus////", "dis-//-/", "when/ when / or/"]

def sample(db, out):
    data = rows(db)
    chosen = {r["id"] for r in data if r["prompt"] in (1, 2)}
    for r in data:
        if any(n in r["text"] for n in NAMED):
            chosen.add(r["id"])
    with open(out, "w") as fh:
        for r in data:
            if r["id"] in chosen:
                fh.write("%d\t\t%s\n" % (r["id"], json.dumps(r["text"], ensure_ascii=False)))

def build(db, labels, out):
    data = {r["id"]: r for r in rows(db)}
    items = []
    for line in open(labels):
        gid, label = line.rstrip("\n").split("\t")[:2]
        r = dict(data[int(gid)])
        r["label"] = int(label)
        items.append(r)
    rule = open(__file__.replace("make_degradation_labels.py", "README.md")).read().split("## Labelling rule")[1].split("\n## ")[0].strip()
    json.dump(dict(rule=rule, source="semprog demo sweep 'demo' (SmolLM2-135M-Instruct, demo SAE), perplexity under the unsteered model",
                   items=items), open(out, "w"), ensure_ascii=False, indent=0)

if __name__ == "__main__":
    {"sample": sample, "build": build}[sys.argv[1]](*sys.argv[2:])
