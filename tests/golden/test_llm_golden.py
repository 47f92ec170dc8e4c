#!/usr/bin/env python3
"""Golden test: kaiwu's greedy 64-token continuations must equal llama.cpp's
(references made by tools/make_golden.py) on all prompts but one for each
model file, and the prompt tokens must match on all of them."""
import hashlib, json, os, subprocess, sys

src = os.environ.get("KW_SOURCE_DIR", ".")
models = os.environ.get("KW_MODELS_DIR", "models")
kaiwu = os.environ.get("KW_BIN", "build/kaiwu")
require = os.environ.get("KW_REQUIRE_MODELS") == "1"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check(ref_path):
    ref = json.load(open(ref_path))
    model = os.path.join(models, ref["model"])
    if not os.path.exists(model):
        print(f"missing model {model}")
        return None
    if sha256(model) != ref["sha256"]:
        print(f"FAIL {ref['model']}: file differs from the one the reference "
              f"was made from (sha256); re-run tools/fetch_models.sh all")
        return False
    exact = 0
    ok = True
    for i, case in enumerate(ref["cases"]):
        out = subprocess.run([kaiwu, "generate", "-m", model, "-p", case["prompt"],
                              "-n", str(ref["n_predict"]), "--temp", "0",
                              "-t", "2", "--json"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"FAIL {ref['model']} #{i}: exit {out.returncode}: {out.stderr.strip()}")
            ok = False
            continue
        got = json.loads(out.stdout)
        if got["prompt_tokens"] != case["prompt_tokens"]:
            print(f"FAIL {ref['model']} #{i}: prompt tokens differ\n  want {case['prompt_tokens']}\n  got  {got['prompt_tokens']}")
            ok = False
            continue
        want, have = case["tokens"], got["tokens"]
        if want == have:
            exact += 1
            continue
        div = next((k for k in range(min(len(want), len(have))) if want[k] != have[k]),
                   min(len(want), len(have)))
        print(f"diverges {ref['model']} #{i} at token {div}: want {want[div:div+4]} got {have[div:div+4]}")
    print(f"{ref['model']}: {exact}/{len(ref['cases'])} continuations identical to llama.cpp")
    return ok and exact >= len(ref["cases"]) - 1  # all but one


def main():
    refs = sorted(f for f in os.listdir(os.path.join(src, "tests/golden"))
                  if f.startswith("llm_ref_") and f.endswith(".json"))
    results = [check(os.path.join(src, "tests/golden", f)) for f in refs]
    if any(r is False for r in results):
        return 1
    if any(r is None for r in results):
        return 1 if require else 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
