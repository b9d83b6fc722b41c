#!/usr/bin/env python3
"""Peer benchmark for `semprog bench report`: matplotlib draws the same figure set (a)-(f) from the
synthetic ReportData that `semprog bench report --export-data FILE.json` writes, saving PNG (2x, 144 dpi)
and SVG of every figure, as semprog does.

    semprog bench report --export-data /tmp/report-data.json
    python3 scripts/bench_matplotlib.py /tmp/report-data.json [--processes N] [--out DIR]
"""
import argparse, json, math, os, sys, tempfile, time
from multiprocessing import Pool

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle
import numpy as np

plt.rcParams["font.family"] = "DejaVu Sans"
plt.rcParams["svg.hashsalt"] = "semprog"
TAB10 = plt.get_cmap("tab10").colors
PT = 1 / 72


def save(fig, out, name):
    fig.savefig(os.path.join(out, name + ".png"), dpi=144)
    fig.savefig(os.path.join(out, name + ".svg"))
    plt.close(fig)


def progression(f, run, out):
    p = f["progression"]
    ids = np.array(p["stage_ids"], dtype=float)
    ids[ids < 0] = np.nan
    rows, cols = ids.shape
    fig, ax = plt.subplots(figsize=(540 * PT, min(560, 90 + 13 * max(rows, 4)) * PT))
    cmap = ListedColormap([TAB10[i % 10] for i in range(max(len(f["stages"]), 1))])
    ax.imshow(ids, aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(f["stages"]) - 0.5, interpolation="nearest")
    for r in range(rows):
        for c in range(cols):
            if p["degraded"][r][c]:
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="////", lw=0))
        o = p["onset_magnitude_index"][r]
        if o is not None:
            ax.plot([o - 0.5, o - 0.5], [r - 0.5, r + 0.5], color="black", lw=2)
    ax.set_xticks(range(0, cols, max(1, (cols + 9) // 10)))
    ax.set_xticklabels([f"{run['magnitudes'][i]:.3g}" for i in range(0, cols, max(1, (cols + 9) // 10))])
    ax.set_yticks(range(rows))
    ax.set_yticklabels([s[:18] for s in p["prompts"]])
    ax.set_xlabel(f"magnitude ({run['magnitude_unit']})")
    ax.set_ylabel("prompt")
    handles = [Rectangle((0, 0), 1, 1, color=TAB10[i % 10]) for i in range(len(f["stages"]))]
    ax.legend(handles, [f"S{i + 1}: {s['label'][:24]}" for i, s in enumerate(f["stages"])],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    ax.set_title(f"Feature {f['index']}: stages by prompt and magnitude")
    fig.tight_layout()
    save(fig, out, f"feature-{f['index']}-progression")


def similarity(f, run, out):
    s = f["similarity"]
    x = [p["magnitude"] for p in s]
    fig, ax = plt.subplots(figsize=(420 * PT, 260 * PT))
    ax.fill_between(x, [p.get("ci_low") or np.nan for p in s], [p.get("ci_high") or np.nan for p in s],
                    alpha=0.22, label="95% CI")
    ax.plot(x, [p["mean"] for p in s], marker="o", ms=3, label="mean over prompts")
    ax.set_xlabel(f"magnitude ({run['magnitude_unit']})")
    ax.set_ylabel("cosine similarity")
    ax.set_title(f"Feature {f['index']}: similarity to explanation")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, out, f"feature-{f['index']}-similarity")


def degradation(f, run, out):
    metrics = f["degradation"]
    cols = min(max(len(metrics), 1), 3)
    rows = (len(metrics) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(540 * PT, (40 + 170 * rows) * PT), squeeze=False)
    for i, m in enumerate(metrics):
        ax = axes[i // cols][i % cols]
        ax.plot(run["magnitudes"], [np.nan if v is None else v for v in m["values"]], marker="o", ms=3,
                color=TAB10[(i + 1) % 10])
        ax.set_title(m["name"])
        ax.set_xlabel("magnitude")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Feature {f['index']}: degradation vs magnitude")
    fig.tight_layout()
    save(fig, out, f"feature-{f['index']}-degradation")


def global_figures(d, out):
    rq1 = d["summary"]["rq1"]
    counts = [f["stage_count"] for f in d["features"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(540 * PT, 250 * PT))
    a.hist(counts, bins=np.arange(min(counts) - 0.5, max(counts) + 1.5, 1))
    a.axvline(rq1["mean_stage_count"], color=TAB10[3], ls="--", label=f"mean {rq1['mean_stage_count']:.3g}")
    a.set_xlabel("stages per feature"); a.set_ylabel("features"); a.set_title("stage counts"); a.legend(fontsize=7)
    sens = rq1["penalty_sensitivity"]
    b.plot([p["penalty"] for p in sens], [p["mean_stage_count"] for p in sens], marker="o", ms=3, color=TAB10[1])
    b.axvline(rq1["penalty"], color="#666666", ls="--", label=f"chosen {rq1['penalty']:.3g}")
    b.set_xlabel("segmentation penalty"); b.set_ylabel("mean stage count"); b.set_title("penalty sensitivity")
    b.legend(fontsize=7)
    fig.suptitle(f"RQ1: stages per feature (mean {rq1['mean_stage_count']:.3g})")
    fig.tight_layout()
    save(fig, out, "rq1-stage-counts")

    c = d["summary"]["rq2"]["consistency"]
    fig, ax = plt.subplots(figsize=(540 * PT, 250 * PT))
    x = [p["magnitude"] for p in c]
    ax.fill_between(x, [p.get("ci_low") or np.nan for p in c], [p.get("ci_high") or np.nan for p in c],
                    alpha=0.22, color=TAB10[2], label="95% CI")
    ax.plot(x, [p["mean"] for p in c], marker="o", ms=3, color=TAB10[2], label="consistency")
    ax.set_xlabel(f"magnitude ({d['run']['magnitude_unit']})"); ax.set_ylabel("consistency")
    ax.set_title("RQ2: consistency across prompts"); ax.legend(fontsize=7); ax.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, out, "rq2-consistency")

    r = d["summary"]["rq3"]
    xs = np.array([p["log10_density"] for p in r["points"]]); ys = np.array([p["robustness"] for p in r["points"]])
    fig, ax = plt.subplots(figsize=(540 * PT, 300 * PT))
    ax.scatter(xs, ys, s=12, alpha=0.75)
    if len(xs) >= 2:
        slope, intercept = np.polyfit(xs, ys, 1)
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [intercept + slope * lo, intercept + slope * hi], "k--", lw=1.2)
    ax.text(0.02, 0.95, f"Kendall τ = {r['kendall_tau']:.3g}, permutation p = {r['permutation_p_value']:.3g}",
            transform=ax.transAxes, fontsize=7, va="top", bbox=dict(facecolor="white", alpha=0.85))
    ax.set_xlabel("log10 activation density"); ax.set_ylabel("robustness (onset magnitude)")
    ax.set_title(f"RQ3: ρ = {r['spearman_rho']:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}], p = {r['p_value']:.3g}, n = {r['n']}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save(fig, out, "rq3-sparsity-robustness")


def feature_job(args):
    f, run, out = args
    progression(f, run, out); similarity(f, run, out); degradation(f, run, out)
    return 3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    d = json.load(open(a.data))
    out = a.out or tempfile.mkdtemp(prefix="mpl-bench-")
    os.makedirs(out, exist_ok=True)
    t0 = time.perf_counter()
    global_figures(d, out)
    jobs = [(f, d["run"], out) for f in d["features"]]
    if a.processes > 1:
        with Pool(a.processes) as pool:
            n = sum(pool.map(feature_job, jobs))
    else:
        n = sum(feature_job(j) for j in jobs)
    dt = time.perf_counter() - t0
    total = n + 3
    print(f"matplotlib {matplotlib.__version__}: processes {a.processes}, {total} figures (PNG + SVG each) "
          f"in {dt:.3f} s = {total / dt:.2f} figures/s  (out: {out})")


if __name__ == "__main__":
    main()
