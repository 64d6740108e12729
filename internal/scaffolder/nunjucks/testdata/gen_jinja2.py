"""Regenerates cases_jinja2.golden.json from cases_jinja2.txt with Jinja2, configured as cookiecutter
configures it (StrictUndefined, keep_trailing_newline). Usage: python3 gen_jinja2.py > cases_jinja2.golden.json"""
import json, os, sys
from jinja2 import Environment, StrictUndefined

here = os.path.dirname(os.path.abspath(__file__))
out = []
for line in open(os.path.join(here, "cases_jinja2.txt"), encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    tpl, ctx = line.split("\t")
    tpl = tpl.replace("\\n", "\n").replace("\\t", "\t")
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    rec = {"template": tpl, "context": json.loads(ctx)}
    try:
        rec["want"] = env.from_string(tpl).render(**rec["context"])
    except Exception:
        rec["error"] = True
    out.append(rec)
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write("\n")
