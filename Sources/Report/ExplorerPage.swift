// The explorer page's markup, style and script (plain JavaScript, no framework). Kept in Swift so a report needs
// no template for it (PDF-only reports link to it too). All text from the data is inserted with textContent.

enum ExplorerPage {
    static func head(title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="semprog">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
        <title>\(title)</title>
        <style>
        \(css)
        </style>
        </head>
        <body>
        <header><h1>semprog explorer</h1><p id="subtitle"></p></header>
        <main id="app"><p>Loading…</p></main>
        <pre id="selftest-result" hidden></pre>

        """
    }

    static let css = #"""
    :root { --fg:#1d2330; --muted:#5b6475; --line:#d5d9e0; --bg:#fff; --accent:#2357c6; }
    * { box-sizing: border-box; }
    body { font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 18px 40px; }
    header h1 { font-size: 20px; margin: 14px 0 2px; }
    #subtitle { color: var(--muted); margin: 0 0 10px; }
    .bar { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
    input[type=text], input[type=number] { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 3px; }
    input[type=number] { width: 6.5em; }
    table.features { border-collapse: collapse; width: 100%; }
    table.features th, table.features td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: right; vertical-align: top; }
    table.features th { cursor: pointer; user-select: none; background: #f3f5f8; position: sticky; top: 0; white-space: nowrap; }
    table.features th.text, table.features td.text { text-align: left; }
    table.features th[aria-sort=ascending]::after { content: " ▲"; }
    table.features th[aria-sort=descending]::after { content: " ▼"; }
    table.features tr.ranges th { cursor: default; background: #fafbfc; font-weight: normal; }
    table.features tbody tr { cursor: pointer; }
    table.features tbody tr:hover { background: #eef3ff; }
    td.explanation { max-width: 46em; unicode-bidi: isolate; }
    .count { color: var(--muted); }
    a { color: var(--accent); }
    .feature-head h2 { margin: 10px 0 4px; font-size: 18px; }
    .explanation-text { unicode-bidi: isolate; white-space: pre-wrap; margin: 0 0 6px; }
    .stats span { margin-right: 16px; color: var(--muted); }
    .stats b { color: var(--fg); font-weight: 600; }
    .layout { display: flex; gap: 22px; flex-wrap: wrap; align-items: flex-start; }
    table.grid { border-collapse: separate; border-spacing: 2px; }
    table.grid th { font-weight: normal; color: var(--muted); font-size: 12px; padding: 0 4px; white-space: nowrap; }
    table.grid th.prompt { text-align: right; max-width: 15em; overflow: hidden; text-overflow: ellipsis; unicode-bidi: isolate; }
    table.grid th.current { color: var(--fg); font-weight: 700; }
    table.grid td { width: 34px; height: 26px; border-radius: 3px; cursor: pointer; position: relative; text-align: center;
                    font-size: 12px; color: rgba(0,0,0,.55); }
    table.grid td.deg { background-image: repeating-linear-gradient(45deg, rgba(0,0,0,.38) 0 2px, transparent 2px 6px); }
    table.grid td.deg::after { content: "×"; font-weight: 700; color: #000; }
    table.grid td.missing { background: #fff !important; border: 1px dashed var(--line); }
    table.grid td.selected { outline: 3px solid #111; outline-offset: 0; }
    table.grid td.hovered { outline: 2px solid var(--accent); }
    .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0; font-size: 13px; }
    .swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; vertical-align: -2px; margin-right: 5px; }
    .swatch.deg { background-image: repeating-linear-gradient(45deg, rgba(0,0,0,.38) 0 2px, transparent 2px 6px); background-color: #ddd; }
    ol.stages { padding-left: 20px; margin: 4px 0; }
    ol.stages li { margin: 2px 0; unicode-bidi: isolate; }
    .range { color: var(--muted); margin-left: 6px; }
    .hover-box { min-height: 5.5em; max-width: 60em; border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; background: #fbfcfd; }
    .panel-title { font-size: 12px; color: var(--muted); margin-bottom: 3px; }
    .text { white-space: pre-wrap; word-break: break-word; unicode-bidi: isolate; max-height: 22em; overflow: auto; }
    .pins { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; margin-top: 10px; }
    .pin { border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; }
    .pin.selected-pin { border-color: #111; }
    ins { background: #c9f2d0; text-decoration: none; }
    del { background: #ffd3d3; }
    .charts { display: flex; gap: 18px; flex-wrap: wrap; }
    .chart svg { background: #fff; border: 1px solid var(--line); }
    .chart text { font-size: 11px; fill: var(--muted); }
    .help { color: var(--muted); font-size: 12px; }
    kbd { border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 3px; padding: 0 4px; font-size: 11px; }
    """#

    static let script = #"""
    "use strict";
    (function () {
    const D = JSON.parse(document.getElementById("explorer-data").textContent);
    // One run, or two side by side (semprog compare): each feature names its run; the feature view uses its run's
    // magnitudes, prompts and baselines.
    const RUNS = D.runs;
    let RUN = RUNS[0], M = RUN.magnitudes;
    const MULTI = RUNS.length > 1;
    D.features.forEach(f => { f.run_label = RUNS[f.run].label; });
    function useRun(f) { RUN = RUNS[f.run]; M = RUN.magnitudes; }
    const PALETTE = ["#8fb8de", "#f2b77a", "#9ccf94", "#e79aa4", "#c1a6dc", "#e6d77c", "#85cfc9", "#d2b48c", "#b5b5e8", "#f0a3d0"];
    const app = document.getElementById("app");
    const state = { view: "table", sort: { key: null, dir: 1 }, text: "", ranges: {}, feature: 0, prompt: 0, m: 0,
                    hover: null };

    // ---------- helpers ----------
    function el(tag, attrs, ...children) {
      const e = document.createElement(tag);
      if (attrs) for (const k in attrs) {
        if (k === "text") e.textContent = attrs[k];
        else if (k === "class") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      }
      for (const c of children) if (c != null) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
      return e;
    }
    function svg(tag, attrs) {
      const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      return e;
    }
    function fmt(v) {
      if (v == null || !isFinite(v)) return "—";
      const a = Math.abs(v);
      if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
      return String(Number(v.toPrecision(3)));
    }
    function stageColor(s) { return s < 0 ? "#e4e6ea" : PALETTE[s % PALETTE.length]; }

    // ---------- the feature table ----------
    const COLUMNS = [
      { key: "index", label: "feature", num: true },
      ...(MULTI ? [{ key: "run_label", label: "run", num: false }] : []),
      { key: "explanation", label: "explanation", num: false },
      { key: "density", label: "density", num: true },
      { key: "max_activation", label: "max act.", num: true },
      { key: "robustness", label: "robustness", num: true },
      { key: "stage_count", label: "stages", num: true },
      { key: "mean_similarity", label: "mean sim.", num: true },
      { key: "peak_similarity", label: "peak sim.", num: true },
      { key: "onset_spread", label: "onset spread", num: true },
    ];
    function value(f, key) { const v = f[key]; return v == null ? null : v; }

    /// Features in table order: filtered by text and ranges, sorted by the chosen column (ties by index;
    /// missing values last).
    function tableRows() {
      const q = state.text.trim().toLowerCase();
      let rows = D.features.map((f, i) => i).filter(i => {
        const f = D.features[i];
        if (q && !(f.explanation.toLowerCase().includes(q) || String(f.index).includes(q) || (MULTI && f.run_label.toLowerCase().includes(q)))) return false;
        for (const key in state.ranges) {
          const r = state.ranges[key], v = value(f, key);
          if (r.min != null && (v == null || v < r.min)) return false;
          if (r.max != null && (v == null || v > r.max)) return false;
        }
        return true;
      });
      const key = state.sort.key;
      if (key) {
        const dir = state.sort.dir;
        rows.sort((a, b) => {
          const fa = D.features[a], fb = D.features[b];
          const va = value(fa, key), vb = value(fb, key);
          if (va == null || vb == null) {
            if (va == null && vb == null) return fa.index - fb.index;
            return va == null ? 1 : -1;
          }
          let c = typeof va === "string" ? (va < vb ? -1 : va > vb ? 1 : 0) : va - vb;
          return c !== 0 ? dir * c : fa.index - fb.index;
        });
      }
      return rows;
    }

    function renderTable() {
      state.view = "table";
      app.textContent = "";
      const rows = tableRows();
      const text = el("input", { type: "text", id: "filter-text", placeholder: "filter: explanation or index", size: "34" });
      text.value = state.text;
      text.addEventListener("input", () => { state.text = text.value; refreshBody(); });
      const count = el("span", { class: "count", id: "row-count" });
      app.appendChild(el("div", { class: "bar" }, text, count,
        el("span", { class: "help" }, "click a column to sort, a row to open the feature; ", el("kbd", { text: "j" }), " / ",
           el("kbd", { text: "k" }), " step through features")));
      const table = el("table", { class: "features", id: "feature-table" });
      const head = el("tr");
      const ranges = el("tr", { class: "ranges" });
      for (const c of COLUMNS) {
        const th = el("th", { "data-key": c.key, class: c.num ? "num" : "text", text: c.label });
        if (state.sort.key === c.key) th.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
        th.addEventListener("click", () => {
          if (state.sort.key === c.key) state.sort.dir = -state.sort.dir; else { state.sort.key = c.key; state.sort.dir = 1; }
          renderTable();
        });
        head.appendChild(th);
        const cell = el("th");
        if (c.num && c.key !== "index") {
          for (const bound of ["min", "max"]) {
            const input = el("input", { type: "number", step: "any", placeholder: bound, "data-range": c.key + ":" + bound });
            const r = state.ranges[c.key];
            if (r && r[bound] != null) input.value = String(r[bound]);
            input.addEventListener("input", () => {
              const v = input.value === "" ? null : Number(input.value);
              const r = state.ranges[c.key] || (state.ranges[c.key] = { min: null, max: null });
              r[bound] = v != null && isFinite(v) ? v : null;
              if (r.min == null && r.max == null) delete state.ranges[c.key];
              refreshBody();
            });
            cell.appendChild(input);
            if (bound === "min") cell.appendChild(el("br"));
          }
        }
        ranges.appendChild(cell);
      }
      table.appendChild(el("thead", null, head, ranges));
      const body = el("tbody");
      table.appendChild(body);
      app.appendChild(table);
      function refreshBody() {
        const rows = tableRows();
        body.textContent = "";
        for (const i of rows) {
          const f = D.features[i];
          const tr = el("tr", { "data-feature": String(f.index), "data-run": String(f.run) });
          for (const c of COLUMNS) {
            const v = f[c.key];
            tr.appendChild(el("td", { class: c.num ? "num" : "text" + (c.key === "explanation" ? " explanation" : ""), text: c.num ? (c.key === "index" || c.key === "stage_count" ? String(v) : fmt(v)) : v }));
          }
          tr.addEventListener("click", () => openFeature(i, 0, 0));
          body.appendChild(tr);
        }
        count.textContent = rows.length + " of " + D.features.length + " features";
        writeHash();
      }
      refreshBody();
    }

    // ---------- the feature view ----------
    function openFeature(i, prompt, m) {
      state.feature = i; state.prompt = prompt; state.m = m; state.hover = null;
      renderFeature();
    }
    function output(f, p, m) { const row = f.outputs[p]; return row ? row[m] : null; }
    function baseline(f, p) {
      const zero = M.indexOf(0);
      if (zero >= 0 && output(f, p, zero) != null) return { text: output(f, p, zero), label: "magnitude 0 (baseline)" };
      if (RUN.baselines && RUN.baselines[p] != null) return { text: RUN.baselines[p], label: "unsteered baseline" };
      return { text: output(f, p, 0), label: "lowest magnitude " + fmt(M[0]) };
    }

    /// Word-level diff (longest common subsequence of whitespace-separated words); returns [op, word] with op
    /// "=" (both), "-" (only in a) or "+" (only in b). Falls back to no alignment for very long texts.
    function diffWords(a, b) {
      const x = a.split(/(\s+)/).filter(s => s !== ""), y = b.split(/(\s+)/).filter(s => s !== "");
      const n = x.length, m = y.length;
      if (n * m > 4e6) return x.map(w => ["-", w]).concat(y.map(w => ["+", w]));
      const L = new Array(n + 1);
      for (let i = 0; i <= n; i++) L[i] = new Uint32Array(m + 1);
      for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
        L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
      const ops = [];
      let i = 0, j = 0;
      while (i < n && j < m) {
        if (x[i] === y[j]) { ops.push(["=", x[i]]); i++; j++; }
        else if (L[i + 1][j] >= L[i][j + 1]) ops.push(["-", x[i++]]);
        else ops.push(["+", y[j++]]);
      }
      while (i < n) ops.push(["-", x[i++]]);
      while (j < m) ops.push(["+", y[j++]]);
      return ops;
    }
    /// Text of `b` with the words not in `a` marked <ins> (side "b"), or text of `a` with words not in `b` marked <del>.
    function diffNode(a, b, side) {
      const box = el("div", { class: "text" });
      if (a == null || b == null) { box.textContent = (side === "b" ? b : a) ?? "(no output stored)"; return box; }
      for (const [op, w] of diffWords(a, b)) {
        if (op === "=") box.appendChild(document.createTextNode(w));
        else if (op === "+" && side === "b") box.appendChild(/^\s+$/.test(w) ? document.createTextNode(w) : el("ins", { text: w }));
        else if (op === "-" && side === "a") box.appendChild(/^\s+$/.test(w) ? document.createTextNode(w) : el("del", { text: w }));
      }
      return box;
    }

    function renderFeature() {
      state.view = "feature";
      const f = D.features[state.feature];
      useRun(f);
      state.prompt = Math.max(0, Math.min(f.prompts.length - 1, state.prompt));
      state.m = Math.max(0, Math.min(M.length - 1, state.m));
      app.textContent = "";
      const back = el("a", { href: "#", id: "back", text: "← all features" });
      back.addEventListener("click", ev => { ev.preventDefault(); renderTable(); });
      const nav = el("div", { class: "bar" }, back,
        el("span", { class: "help" }, el("kbd", { text: "←" }), el("kbd", { text: "→" }), " magnitude · ",
           el("kbd", { text: "↑" }), el("kbd", { text: "↓" }), " prompt · ", el("kbd", { text: "j" }), el("kbd", { text: "k" }),
           " feature · click a cell to pin it · ", el("kbd", { text: "Esc" }), " table"));
      app.appendChild(nav);
      const headBox = el("div", { class: "feature-head", id: "feature-view", "data-index": String(f.index) });
      const h2 = el("h2", { text: "Feature " + f.index + (MULTI ? " · run " + f.run_label : "") });
      if (f.match != null) {
        const other = D.features[f.match];
        const link = el("a", { href: "#", id: "matched", text: "same feature in run " + other.run_label });
        link.addEventListener("click", ev => { ev.preventDefault(); openFeature(f.match, state.prompt, state.m); });
        h2.appendChild(document.createTextNode(" · "));
        h2.appendChild(link);
      }
      if (RUN.neuronpedia) {
        const link = el("a", { id: "neuronpedia", href: "https://www.neuronpedia.org/" + RUN.neuronpedia.split("/").map(encodeURIComponent).join("/") + "/" + f.index,
                               target: "_blank", rel: "noopener noreferrer", text: "Neuronpedia" });
        h2.appendChild(document.createTextNode(" · "));
        h2.appendChild(link);
      }
      headBox.appendChild(h2);
      headBox.appendChild(el("p", { class: "explanation-text", id: "explanation", text: f.explanation }));
      const stats = el("div", { class: "stats" });
      for (const [k, v] of [["density", fmt(f.density)], ["max activation", fmt(f.max_activation)], ["robustness", fmt(f.robustness)],
                            ["stages", String(f.stage_count)], ["mean sim.", fmt(f.mean_similarity)], ["peak sim.", fmt(f.peak_similarity)],
                            ["onset spread", fmt(f.onset_spread)]])
        stats.appendChild(el("span", null, k + " ", el("b", { text: v })));
      headBox.appendChild(stats);
      app.appendChild(headBox);

      // Grid
      const layout = el("div", { class: "layout" });
      const left = el("div");
      const grid = el("table", { class: "grid", id: "grid" });
      const hr = el("tr", null, el("th", { class: "prompt", text: "prompt \\ magnitude (" + RUN.unit + ")" }));
      M.forEach((m, j) => hr.appendChild(el("th", { "data-m": String(j), class: j === state.m ? "current" : "", text: fmt(m) })));
      grid.appendChild(hr);
      f.prompts.forEach((p, i) => {
        const full = RUN.prompt_texts && RUN.prompt_texts[i] != null ? RUN.prompt_texts[i] : p;
        const tr = el("tr", null, el("th", { class: "prompt" + (i === state.prompt ? " current" : ""), title: full, text: p }));
        M.forEach((_, j) => {
          const s = f.stage_ids[i][j];
          const td = el("td", { "data-p": String(i), "data-m": String(j) });
          td.style.backgroundColor = stageColor(s);
          if (f.degraded[i][j]) td.classList.add("deg");
          if (output(f, i, j) == null) td.classList.add("missing");
          if (i === state.prompt && j === state.m) td.classList.add("selected");
          td.title = "prompt " + (i + 1) + ", magnitude " + fmt(M[j]) + (s >= 0 ? ", stage " + (s + 1) : "") + (f.degraded[i][j] ? ", degraded" : "");
          td.addEventListener("mouseenter", () => hoverCell(i, j));
          td.addEventListener("mouseleave", () => hoverCell(null, null));
          td.addEventListener("click", () => { state.prompt = i; state.m = j; renderFeature(); });
          tr.appendChild(td);
        });
        grid.appendChild(tr);
      });
      left.appendChild(grid);
      const legend = el("div", { class: "legend" });
      f.stages.forEach((s, k) => legend.appendChild(el("span", null, el("span", { class: "swatch", style: "background:" + stageColor(k) }), "stage " + (k + 1))));
      legend.appendChild(el("span", null, el("span", { class: "swatch deg" }), "degraded"));
      left.appendChild(legend);
      const stages = el("ol", { class: "stages", id: "stages" });
      f.stages.forEach((s, k) => stages.appendChild(el("li", null, el("span", { class: "swatch", style: "background:" + stageColor(k) }),
        el("span", { class: "stage-label", text: s.label }), el("span", { class: "range", text: fmt(s.lo) + " – " + fmt(s.hi) + " " + RUN.unit }))));
      left.appendChild(stages);
      layout.appendChild(left);

      const right = el("div");
      const charts = el("div", { class: "charts", id: "charts" });
      right.appendChild(charts);
      layout.appendChild(right);
      app.appendChild(layout);

      const hoverBox = el("div", { class: "hover-box", id: "hover" }, el("div", { class: "panel-title", id: "hover-title", text: "hover a cell to read its output" }),
                          el("div", { class: "text", id: "hover-text" }));
      app.appendChild(hoverBox);

      // Pinned cell beside the baseline and the neighbouring magnitude.
      const p = state.prompt, m = state.m;
      const selected = output(f, p, m);
      const base = baseline(f, p);
      const nb = m > 0 ? m - 1 : (M.length > 1 ? 1 : 0);
      const neighbour = output(f, p, nb);
      const pins = el("div", { class: "pins", id: "pins" });
      pins.appendChild(el("div", { class: "pin", id: "pin-baseline" },
        el("div", { class: "panel-title", text: "prompt " + (p + 1) + " · " + base.label + " (red: words the pinned output drops)" }),
        diffNode(base.text, selected, "a")));
      const sel = el("div", { class: "pin selected-pin", id: "pin-selected" },
        el("div", { class: "panel-title", text: "pinned: prompt " + (p + 1) + " · magnitude " + fmt(M[m]) + (f.degraded[p][m] ? " · degraded" : "") + " (green: new against the baseline)" }),
        diffNode(base.text, selected, "b"));
      pins.appendChild(sel);
      pins.appendChild(el("div", { class: "pin", id: "pin-neighbour" },
        el("div", { class: "panel-title", text: "neighbour: magnitude " + fmt(M[nb]) + " (green: new against the pinned output)" }),
        diffNode(selected, neighbour, "b")));
      app.appendChild(pins);
      drawCharts();
      writeHash();
    }

    function hoverCell(i, j) {
      const f = D.features[state.feature];
      useRun(f);
      document.querySelectorAll("#grid td.hovered").forEach(td => td.classList.remove("hovered"));
      const title = document.getElementById("hover-title"), text = document.getElementById("hover-text");
      if (i == null) { state.hover = null; drawCharts(); return; }
      state.hover = { p: i, m: j };
      const td = document.querySelector('#grid td[data-p="' + i + '"][data-m="' + j + '"]');
      if (td) td.classList.add("hovered");
      const s = f.stage_ids[i][j];
      title.textContent = "prompt " + (i + 1) + " · magnitude " + fmt(M[j]) + (s >= 0 ? " · stage " + (s + 1) + ": " + f.stages[s].label : "") + (f.degraded[i][j] ? " · degraded" : "");
      const o = output(f, i, j);
      text.textContent = o == null ? "(no output stored)" : o;
      drawCharts();
    }

    /// Line chart of `values` (one per magnitude) with an optional band, the marked magnitude as a vertical line.
    function chart(id, title, values, low, high, mark, color) {
      const W = 368, H = 190, L = 52, R = 10, T = 22, B = 30;
      const s = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, id: id, role: "img" });
      const all = values.concat(low || [], high || []).filter(v => v != null && isFinite(v));
      let lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
      if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
      const x0 = M[0], x1 = M[M.length - 1] === M[0] ? M[0] + 1 : M[M.length - 1];
      const X = m => L + (W - L - R) * (m - x0) / (x1 - x0), Y = v => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
      const t = svg("text", { x: L, y: 14 }); t.textContent = title; s.appendChild(t);
      s.appendChild(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }));
      s.appendChild(svg("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
      for (const v of [lo, (lo + hi) / 2, hi]) {
        const lt = svg("text", { x: L - 4, y: Y(v) + 4, "text-anchor": "end" }); lt.textContent = fmt(v); s.appendChild(lt);
      }
      for (const m of [M[0], M[Math.floor(M.length / 2)], M[M.length - 1]]) {
        const lt = svg("text", { x: X(m), y: H - B + 14, "text-anchor": "middle" }); lt.textContent = fmt(m); s.appendChild(lt);
      }
      if (low && high) {
        const up = [], down = [];
        M.forEach((m, j) => { if (low[j] != null && high[j] != null) { up.push(X(m) + "," + Y(high[j])); down.unshift(X(m) + "," + Y(low[j])); } });
        if (up.length > 1) s.appendChild(svg("polygon", { points: up.concat(down).join(" "), fill: color, "fill-opacity": "0.18", stroke: "none" }));
      }
      let d = "", pen = false;
      M.forEach((m, j) => {
        const v = values[j];
        if (v == null || !isFinite(v)) { pen = false; return; }
        d += (pen ? "L" : "M") + X(m).toFixed(1) + " " + Y(v).toFixed(1); pen = true;
        s.appendChild(svg("circle", { cx: X(m), cy: Y(v), r: 2.5, fill: color }));
      });
      s.appendChild(svg("path", { d: d, fill: "none", stroke: color, "stroke-width": 2 }));
      if (mark != null) s.appendChild(svg("line", { x1: X(M[mark]), y1: T, x2: X(M[mark]), y2: H - B, stroke: "#111", "stroke-dasharray": "4 3", class: "marker", "data-m": String(mark) }));
      return el("div", { class: "chart" }, s);
    }
    let metricChoice = 0;
    function drawCharts() {
      const box = document.getElementById("charts");
      if (!box) return;
      const f = D.features[state.feature];
      useRun(f);
      const mark = state.hover ? state.hover.m : state.m;
      box.textContent = "";
      box.appendChild(chart("similarity-chart", "similarity to the explanation", f.similarity, f.similarity_low, f.similarity_high, mark, "#2357c6"));
      if (f.metrics.length) {
        metricChoice = Math.min(metricChoice, f.metrics.length - 1);
        const metric = f.metrics[metricChoice];
        const c = chart("degradation-chart", "degradation: " + metric.name, metric.values, null, null, mark, "#c0392b");
        const select = el("select", { id: "metric" });
        f.metrics.forEach((mt, k) => { const o = el("option", { value: String(k), text: mt.name }); if (k === metricChoice) o.selected = true; select.appendChild(o); });
        select.addEventListener("change", () => { metricChoice = Number(select.value); drawCharts(); });
        c.insertBefore(el("div", null, select), c.firstChild);
        box.appendChild(c);
      }
    }

    // ---------- URL fragment and keys ----------
    /// Mirrors the view in the URL fragment (`#feature=752&prompt=2&m=5`, or the table's sort and filters); a new
    /// view gets a history entry, changes within a view replace it.
    let lastView = null;
    function writeHash() {
      if (selftestRunning && !selftestHashes) return;
      let h;
      if (state.view === "feature") h = "feature=" + D.features[state.feature].index + (MULTI ? "&run=" + D.features[state.feature].run : "") + "&prompt=" + state.prompt + "&m=" + state.m;
      else {
        const parts = [];
        if (state.sort.key) parts.push("sort=" + state.sort.key, "dir=" + (state.sort.dir > 0 ? "asc" : "desc"));
        if (state.text) parts.push("q=" + encodeURIComponent(state.text));
        for (const k in state.ranges) {
          const r = state.ranges[k];
          parts.push("range=" + k + ":" + (r.min ?? "") + ":" + (r.max ?? ""));
        }
        h = parts.join("&");
      }
      const want = h ? "#" + h : "";
      const view = state.view === "feature" ? "feature " + state.feature : "table";
      if (location.hash !== want) {
        const url = want || location.pathname + location.search;
        if (lastView !== null && lastView !== view && !selftestRunning) history.pushState(null, "", url);
        else history.replaceState(null, "", url);
      }
      lastView = view;
    }
    function parseHash(hash) {
      const out = { params: {}, ranges: [] };
      for (const part of hash.replace(/^#/, "").split("&")) {
        if (!part) continue;
        const k = part.indexOf("=");
        const key = k < 0 ? part : part.slice(0, k), v = k < 0 ? "" : decodeURIComponent(part.slice(k + 1));
        if (key === "range") out.ranges.push(v); else out.params[key] = v;
      }
      return out;
    }
    function applyHash() {
      const { params, ranges } = parseHash(location.hash);
      if (params.feature != null) {
        const run = Number(params.run) || 0;
        const i = D.features.findIndex(f => String(f.index) === params.feature && f.run === run);
        if (i >= 0) { openFeature(i, Number(params.prompt) || 0, Number(params.m) || 0); return; }
      }
      state.sort.key = COLUMNS.some(c => c.key === params.sort) ? params.sort : null;
      state.sort.dir = params.dir === "desc" ? -1 : 1;
      state.text = params.q || "";
      state.ranges = {};
      for (const r of ranges) {
        const [key, min, max] = r.split(":");
        const lo = min === "" || min == null ? null : Number(min), hi = max === "" || max == null ? null : Number(max);
        if (COLUMNS.some(c => c.key === key)) state.ranges[key] = { min: isFinite(lo) ? lo : null, max: isFinite(hi) ? hi : null };
      }
      renderTable();
    }
    function stepFeature(delta) {
      const order = tableRows();
      const list = order.includes(state.feature) ? order : D.features.map((_, i) => i);
      const at = list.indexOf(state.feature);
      const next = list[Math.max(0, Math.min(list.length - 1, (at < 0 ? 0 : at) + delta))];
      openFeature(next, state.prompt, state.m);
    }
    document.addEventListener("keydown", ev => {
      if (ev.target && (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT")) return;
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (state.view === "table") {
        if (ev.key === "j" || ev.key === "k") { state.feature = tableRows()[0] ?? 0; openFeature(state.feature, 0, 0); ev.preventDefault(); }
        return;
      }
      const f = D.features[state.feature];
      useRun(f);
      switch (ev.key) {
        case "ArrowRight": state.m = Math.min(M.length - 1, state.m + 1); break;
        case "ArrowLeft": state.m = Math.max(0, state.m - 1); break;
        case "ArrowDown": state.prompt = Math.min(f.prompts.length - 1, state.prompt + 1); break;
        case "ArrowUp": state.prompt = Math.max(0, state.prompt - 1); break;
        case "j": stepFeature(1); ev.preventDefault(); return;
        case "k": stepFeature(-1); ev.preventDefault(); return;
        case "Escape": renderTable(); ev.preventDefault(); return;
        default: return;
      }
      ev.preventDefault();
      state.hover = null;
      renderFeature();
    });
    window.addEventListener("hashchange", () => { if (!selftestRunning) applyHash(); });

    // ---------- self-test (#selftest): scripted clicks and keys, results written into the DOM ----------
    let selftestRunning = false, selftestHashes = false;
    function selftest(params, ranges) {
      selftestRunning = true;
      const R = { errors: [] };
      const rows = () => Array.from(document.querySelectorAll("#feature-table tbody tr")).map(tr => Number(tr.getAttribute("data-feature")));
      const click = node => node.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      const key = k => document.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
      const type = (node, v) => { node.value = v; node.dispatchEvent(new Event("input", { bubbles: true })); };
      const step = (name, fn) => { try { fn(); } catch (e) { R.errors.push(name + ": " + e); } };
      step("list", () => { R.listed = rows(); R.row_count = document.getElementById("row-count").textContent; });
      step("sort", () => {
        R.sorted = {};
        for (const k of (params.sortkeys || "robustness,explanation").split(",")) {
          click(document.querySelector('th[data-key="' + k + '"]')); R.sorted[k + ":asc"] = rows();
          click(document.querySelector('th[data-key="' + k + '"]')); R.sorted[k + ":desc"] = rows();
        }
      });
      step("text filter", () => {
        type(document.getElementById("filter-text"), params.q || "");
        R.text_filtered = rows();
        type(document.getElementById("filter-text"), "");
        R.text_cleared = rows().length;
      });
      step("range filter", () => {
        R.range_filtered = {};
        for (const r of ranges) {
          const [k, min, max] = r.split(":");
          const lo = document.querySelector('input[data-range="' + k + ':min"]'), hi = document.querySelector('input[data-range="' + k + ':max"]');
          type(lo, min || ""); type(hi, max || "");
          R.range_filtered[r] = rows();
          type(lo, ""); type(hi, "");
        }
      });
      step("open", () => {
        const want = params.cell ? params.cell.split(":") : [String(D.features[0].index), "0", "1"];
        const tr = document.querySelector('#feature-table tbody tr[data-feature="' + want[0] + '"]');
        click(tr);
        R.opened = Number(document.getElementById("feature-view").getAttribute("data-index"));
        R.neuronpedia = document.getElementById("neuronpedia") ? document.getElementById("neuronpedia").getAttribute("href") : null;
        R.stage_labels = Array.from(document.querySelectorAll("#stages .stage-label")).map(n => n.textContent);
        R.grid_cells = document.querySelectorAll("#grid td").length;
        R.degraded_cells = Array.from(document.querySelectorAll("#grid td.deg")).map(td => [Number(td.dataset.p), Number(td.dataset.m)]);
        const td = document.querySelector('#grid td[data-p="' + want[1] + '"][data-m="' + want[2] + '"]');
        td.dispatchEvent(new MouseEvent("mouseenter"));
        R.hover_text = document.getElementById("hover-text").textContent;
        R.hover_marker = document.querySelector("#similarity-chart .marker").getAttribute("data-m");
        click(td);
        R.pinned = { feature: Number(want[0]), prompt: Number(want[1]), m: Number(want[2]) };
        R.pinned_text = document.querySelector("#pin-selected .text").textContent;
        R.baseline_text = document.querySelector("#pin-baseline .text").textContent;
        R.neighbour_text = document.querySelector("#pin-neighbour .text").textContent;
        R.inserted_words = Array.from(document.querySelectorAll("#pin-selected ins")).map(n => n.textContent);
        R.deleted_words = Array.from(document.querySelectorAll("#pin-baseline del")).map(n => n.textContent);
        R.selected_cell = Array.from(document.querySelectorAll("#grid td.selected")).map(td => [Number(td.dataset.p), Number(td.dataset.m)]);
      });
      step("keys", () => {
        selftestHashes = true;
        R.keys = {};
        R.keys.start = location.hash;
        for (const k of ["ArrowRight", "ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp", "j", "j", "k"]) {
          key(k);
          R.keys[Object.keys(R.keys).length + ":" + k] = location.hash;
        }
        R.after_keys_text = document.querySelector("#pin-selected .text").textContent;
      });
      step("escape", () => { key("Escape"); R.after_escape = document.getElementById("feature-table") ? "table" : "feature"; });
      // A shared fragment opens its view.
      step("fragment", () => {
        const f = params.fragment ? params.fragment.split(":") : null;
        if (!f) return;
        selftestRunning = false;
        location.hash = "feature=" + f[0] + "&prompt=" + f[1] + "&m=" + f[2];
      });
      setTimeout(() => {
        step("fragment result", () => {
          if (!params.fragment) return;
          R.fragment_view = Number(document.getElementById("feature-view").getAttribute("data-index"));
          R.fragment_text = document.querySelector("#pin-selected .text").textContent;
        });
        // Markup in model text must never have run (onerror handlers would have set this by now).
        R.pwned = window.__pwned === undefined ? null : window.__pwned;
        R.images = document.images.length;
        R.scripts = document.scripts.length;
        R.done = true;
        const out = document.getElementById("selftest-result");
        out.textContent = JSON.stringify(R).replace(/[<>&\u00a0\u2028\u2029]/g, c => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
        out.hidden = false;
      }, 300);
    }

    // ---------- start ----------
    document.getElementById("subtitle").textContent = RUNS.map(r => (MULTI ? "run " + r.label + ": " : "") + "sweep " + r.sweep + " · " + r.model + " · " + r.sae + " · " + r.date).join("  |  ")
      + " · " + D.features.length + " features";
    const initial = parseHash(location.hash);
    if ("selftest" in initial.params) {
      history.replaceState(null, "", location.pathname + location.search);
      renderTable();
      selftest(initial.params, initial.ranges);
    } else {
      applyHash();
    }
    document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
    })();
    """#
}
