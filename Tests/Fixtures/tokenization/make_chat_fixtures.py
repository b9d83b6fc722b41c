# Usage: python3 make_chat_fixtures.py chat-families.json chat-jinja.json  (pip install transformers jinja2)
import json, sys, jinja2, transformers
from transformers.utils.chat_template_utils import render_jinja_template
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chat_templates import GEMMA, GEMMA3, QWEN3, LLAMA3, LLAMA31

def srt(x):
    if isinstance(x, dict): return {k: srt(x[k]) for k in sorted(x)}
    if isinstance(x, list): return [srt(v) for v in x]
    return x

def render(template, messages, bos, eos, **kw):
    try:
        out, _ = render_jinja_template(conversations=[messages], chat_template=template, add_generation_prompt=True,
                                       bos_token=bos, eos_token=eos, **kw)
        return {"rendered": out[0]}
    except jinja2.exceptions.TemplateError as e:
        return {"error": str(e)}

U = lambda c: {"role": "user", "content": c}
A = lambda c: {"role": "assistant", "content": c}
S = lambda c: {"role": "system", "content": c}
story = U("Tell me a short story about a journey.")
multi = [U("Hi"), A("Hello! How can I help?"), U("  spaces kept?  ")]
weather_tool = srt({"type": "function", "function": {"name": "get_weather", "description": "Weather of a city, \"now\".",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "e.g. Zürich"}}, "required": ["city"]}}})

families = {
  "gemma": (GEMMA, "<bos>", "<eos>", "google/gemma-2b-it and google/gemma-2-2b-it tokenizer_config.json chat_template (the same text)"),
  "gemma3": (GEMMA3, "<bos>", "<eos>", "google/gemma-3-270m-it (and the other Gemma 3 instruction-tuned sizes) chat_template"),
  "qwen3": (QWEN3, None, "<|im_end|>", "Qwen/Qwen3-0.6B tokenizer_config.json chat_template"),
  "llama3": (LLAMA3, "<|begin_of_text|>", "<|eot_id|>", "meta-llama/Meta-Llama-3-8B-Instruct tokenizer_config.json chat_template"),
  "llama3.1": (LLAMA31, "<|begin_of_text|>", "<|eot_id|>", "meta-llama/Llama-3.1-8B-Instruct tokenizer_config.json chat_template"),
}
conversations = {
  "gemma": [([story], {}), ([U("What is 2+2?"), A(" Four. "), U("And 3+3?\n")], {}), ([S("Be terse."), U("Hi")], {}),
            ([U("a"), U("b")], {})],
  "gemma3": [([story], {}), ([S("You are terse."), U("  Describe your ideal weekend. ")], {}), (multi, {}),
             ([srt({"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " What is this? "}]})], {}),
             ([A("x")], {})],
  "qwen3": [([story], {}), ([S("You are terse."), U("Describe your ideal weekend.")], {}), (multi, {}),
            ([story], {"enable_thinking": False}), ([story], {"enable_thinking": True}),
            ([U("2+2?"), A("<think>\nadd them\n</think>\n\nFour."), U("3+3?")], {}),
            ([U("2+2?"), A("<think>\nadd them\n</think>\n\nFour.")], {}),
            ([U("Weather in Zürich?")], {"tools": [weather_tool]}),
            ([U("Weather?"), srt({"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Bern"}}}]}),
              {"role": "tool", "content": "{\"temp\": 3}"}, {"role": "tool", "content": "sunny"}], {"tools": [weather_tool]})],
  "llama3": [([story], {}), ([S("You are terse."), U("  Describe your ideal weekend.  ")], {}), (multi, {})],
  "llama3.1": [([story], {}), ([S("  You are terse.  "), U("Describe your ideal weekend.")], {}), (multi, {}),
               ([story], {"date_string": "02 Dec 2026"}),
               ([U("Weather in Zürich?")], {"tools": [weather_tool]}),
               ([S("Use tools."), U("Weather in Bern?")], {"tools": [weather_tool], "tools_in_user_message": False}),
               ([U("Weather?"), srt({"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Bern"}}}]}),
                 {"role": "ipython", "content": "sunny"}], {"tools": [weather_tool]}),
               ([U("Search it")], {"builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]})],
}
out = {"made_by": f"transformers {transformers.__version__} (jinja2 {jinja2.__version__}) render_jinja_template(conversations=[messages], chat_template=template, add_generation_prompt=True, bos_token=…, eos_token=…, **variables), the function apply_chat_template calls; mappings have sorted keys so that tojson's key order is reproducible",
       "templates": {}, "cases": []}
for name, (tpl, bos, eos, source) in families.items():
    out["templates"][name] = {"template": tpl, "bos_token": bos, "eos_token": eos, "source": source}
    for messages, kw in conversations[name]:
        kwargs = dict(kw)
        r = render(tpl, messages, bos, eos, **kwargs) if bos is not None else render(tpl, messages, None, eos, **kwargs)
        out["cases"].append({"template": name, "messages": messages, "variables": kw, **r})
json.dump(out, open(sys.argv[1], "w"), ensure_ascii=False, indent=1)

# Features of the Jinja subset, each rendered by transformers' environment.
feat = [
  "{{ 'a' ~ 1 ~ none ~ true }}|{{ [1, 'x', none, 2.5] }}|{{ {'k': 'v'} }}|{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}",
  "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }}:{{ x }};{% endfor %}",
  "{% for x in xs if x != 'b' %}{{ loop.index }}={{ x }} {% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}",
  "{{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[::2] }} {{ 'hello'[1:3] }} {{ 'hello'[-1] }} {{ xs[-1] }}",
  "{% set ns = namespace(n=0, s='') %}{% for x in xs %}{% set ns.n = ns.n + 1 %}{% set ns.s = ns.s ~ x %}{% set local = x %}{% endfor %}{{ ns.n }} {{ ns.s }} [{{ local }}]",
  "{{ '  pad  ' | trim }}|{{ 'xxhixx'.strip('x') }}|{{ ' a b  c '.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}|{{ '\\n\\nx\\n'.lstrip('\\n') }}|{{ 'x\\n\\n'.rstrip() }}.",
  "{{ xs | length }} {{ 'héllo' | length }} {{ undefined_name | default('dflt') }} {{ '' | default('e', true) }} {{ none | default('n') }} {{ xs | first }} {{ xs | last }} {{ xs | join('-') }} {{ xs | reverse | list }}",
  "{{ obj | tojson }}|{{ obj | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ [1, 2.0, true, none] | tojson }}",
  "{{ x is defined }}{{ y is defined }}{{ y is undefined }}{{ none is none }}{{ 'a' is string }}{{ 1 is string }}{{ obj is mapping }}{{ xs is iterable }}{{ 3 is odd }}{{ 4 is even }}{{ false is false }}{{ 0 is false }}{{ x is not none }}",
  "{{ 'b' in xs }} {{ 'z' not in xs }} {{ 'ell' in 'hello' }} {{ 'k' in obj }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ not xs }} {{ xs and 'yes' }} {{ [] or 'fallback' }}",
  "{{ 'yes' if x else 'no' }} {{ 'yes' if y else 'no' }} [{{ 'only' if y }}] {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ xs | length - 1 }}",
  "a\n  {% if x %}\n    indented\n  {% endif %}\nb {#- comment #} c\n{%- for i in xs %}\n  [{{ i }}]\n{%- endfor %}\n  {%+ if x %}kept{% endif %}\n{{- ' end ' -}}\n\n  tail\n",
  "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t %}block {{ x }}{% endset %}[{{ t }}]{% macro m(p, q='d') %}<{{ p }}{{ q }}>{% endmacro %}{{ m('x') }}{{ m('y', 'z') }}{{ m(p='k') }}",
  "{% for x in xs %}{% if x == 'b' %}{% continue %}{% endif %}{% if x == 'c' %}{% break %}{% endif %}{{ x }}{% endfor %}|{% for k, v in obj.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in obj %}{{ k }}{% endfor %}|{{ obj.get('k') }}{{ obj.get('zz', 'dd') }}|{{ obj['k'] }}{{ obj.k }}",
  "{{ items | selectattr('type', 'equalto', 'text') | map(attribute='text') | join(',') }}|{{ items | rejectattr('type', 'equalto', 'text') | list | length }}|{{ xs | select('equalto', 'b') | list }}|{{ xs | reject('equalto', 'b') | list }}",
  "{{ raise_exception('custom failure ' ~ x) }}",
  "{{ y.attr }}",
]
ctx = {"x": 1, "xs": ["a", "b", "c", "d"], "obj": {"k": "v", "n": [1, {"z": None}]},
       "items": [{"type": "text", "text": "t1"}, {"type": "image"}, {"type": "text", "text": "t2"}]}
from transformers.utils.chat_template_utils import _compile_jinja_template
fo = {"made_by": out["made_by"].split(" render")[0] + ": _compile_jinja_template(template).render(**context) — transformers' Jinja environment", "context": ctx, "cases": []}
for t in feat:
    try:
        fo["cases"].append({"template": t, "rendered": _compile_jinja_template(t).render(**ctx)})
    except Exception as e:
        fo["cases"].append({"template": t, "error": type(e).__name__ + ": " + str(e)})
json.dump(fo, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
