#!/usr/bin/env bash
# llm_vs_llamacpp.sh — kaiwu vs llama.cpp on the same GGUF files and thread
# counts, in one run: pp512 and tg128 tokens/s (kaiwu bench vs llama-bench),
# load time (process start to first generated token) and peak RSS, with the
# kaiwu/llama.cpp ratio. llama.cpp is built from the llama-cpp-python sdist
# (vendor/llama.cpp) fetched by tools/fetch_models.sh all, cached outside
# the repository.
# usage: bench/llm_vs_llamacpp.sh [QUANT ...]  (default: Q4_1 Q4_K_M)
#        env: THREADS="1 2"  REPS=5  OUT=docs/bench-llm.md (append table)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/fetch_models.sh all
cache=${KW_CACHE:-$HOME/.cache/kaiwu-dev}
llama=$cache/llama_cpp_python-0.3.36/vendor/llama.cpp
if [ ! -x "$llama/build/bin/llama-bench" ] || [ ! -x "$llama/build/bin/llama-completion" ]; then
    echo "building llama-bench and llama-completion (once) ..." >&2
    cmake --build "$llama/build" -j"$(nproc)" --target llama-bench llama-completion >/dev/null
fi
[ -x build/kaiwu ] || { cmake -S . -B build -G Ninja >/dev/null && cmake --build build; }
LLAMA_BIN=$llama/build/bin QUANTS="${*:-Q4_1 Q4_K_M}" THREADS="${THREADS:-1 2}" \
REPS=${REPS:-5} python3 - <<'PY'
import json, os, subprocess, time

bin_dir = os.environ["LLAMA_BIN"]
reps = os.environ["REPS"]


def run(cmd):
    """Runs cmd, returns (stdout, wall seconds, peak RSS MiB of the child)."""
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return out, time.time() - t0, ru.ru_maxrss / 1024


def kaiwu_bench(model, t):
    out, _, _ = run(["build/kaiwu", "bench", "-m", model, "-t", str(t), "-r", reps, "--json"])
    j = json.loads(out)
    return j["pp512"], j["tg128"]


def llama_bench(model, t):
    out, _, _ = run([f"{bin_dir}/llama-bench", "-m", model, "-t", str(t), "-p", "512",
                     "-n", "128", "-r", reps, "-o", "json"])
    res = {("pp" if r["n_prompt"] else "tg"): r["avg_ts"] for r in json.loads(out)}
    return res["pp"], res["tg"]


def first_token(cmd):
    best = None
    for _ in range(3):
        _, wall, rss = run(cmd)
        best = (wall, rss) if best is None or wall < best[0] else best
    return best


rows = []
for q in os.environ["QUANTS"].split():
    model = f"models/SmolLM2-135M-Instruct.{q}.gguf"
    for t in map(int, os.environ["THREADS"].split()):
        kp, kt = kaiwu_bench(model, t)
        lp, lt = llama_bench(model, t)
        kl = first_token(["build/kaiwu", "generate", "-m", model, "-p", "Hello", "-n", "1", "-t", str(t)])
        ll = first_token([f"{bin_dir}/llama-completion", "-m", model, "-p", "Hello", "-n", "1",
                          "-t", str(t), "-no-cnv", "--no-warmup"])
        rows.append((q, t, kp, lp, kt, lt, kl, ll))
        print(f"{q} t={t}: pp512 {kp:.1f} vs {lp:.1f}  tg128 {kt:.1f} vs {lt:.1f}", flush=True)

lines = ["| model | threads | pp512 kaiwu | pp512 llama.cpp | ratio | tg128 kaiwu | tg128 llama.cpp | ratio | load→1st token kaiwu / llama.cpp (s) | peak RSS kaiwu / llama.cpp (MiB) |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for q, t, kp, lp, kt, lt, kl, ll in rows:
    lines.append(f"| SmolLM2-135M {q} | {t} | {kp:.1f} | {lp:.1f} | **{kp/lp:.2f}×** | {kt:.1f} | {lt:.1f} | **{kt/lt:.2f}×** | {kl[0]:.3f} / {ll[0]:.3f} | {kl[1]:.0f} / {ll[1]:.0f} |")
print("\n".join(lines))
out = os.environ.get("OUT")
if out:
    with open(out, "a") as f:
        f.write("\n".join(lines) + "\n")
PY
