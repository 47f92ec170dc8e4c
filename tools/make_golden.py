#!/usr/bin/env python3
"""make_golden.py — writes the golden references for tests/golden: greedy
64-token continuations made by llama.cpp (tools/peer/llama_greedy.c linked
against the libllama built from the llama-cpp-python sdist by
tools/fetch_models.sh all) for each prompt of tests/golden/llm_prompts.json
and each model file. The sha256 of the model is recorded so the test can
tell a different file from a wrong answer.

usage: tools/make_golden.py [QUANT ...]   (default: Q4_1 Q8_0 Q4_K_M)
"""
import hashlib, json, os, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cache = os.environ.get("KW_CACHE", os.path.expanduser("~/.cache/kaiwu-dev"))
llama = os.path.join(cache, "llama_cpp_python-0.3.36", "vendor", "llama.cpp")
N_PREDICT, THREADS = 64, 2


def build_peer():
    exe = os.path.join(cache, "llama_greedy")
    lib = os.path.join(llama, "build", "bin")
    subprocess.run(["cmake", "--build", os.path.join(llama, "build"), "-j2",
                    "--target", "llama"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cc", "-O2", "-o", exe,
                    os.path.join(root, "tools", "peer", "llama_greedy.c"),
                    "-I", os.path.join(llama, "include"),
                    "-I", os.path.join(llama, "ggml", "include"),
                    "-L", lib, "-lllama", "-Wl,-rpath," + lib], check=True)
    return exe


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    quants = sys.argv[1:] or ["Q4_1", "Q8_0", "Q4_K_M"]
    prompts = json.load(open(os.path.join(root, "tests/golden/llm_prompts.json")))
    exe = build_peer()
    for q in quants:
        model = os.path.join(root, "models", f"SmolLM2-135M-Instruct.{q}.gguf")
        stdin = "".join(p.encode().hex() + "\n" for p in prompts)
        out = subprocess.run([exe, model, str(N_PREDICT), str(THREADS)],
                             input=stdin, capture_output=True, text=True,
                             check=True).stdout
        cases = [dict(prompt=p, **json.loads(line))
                 for p, line in zip(prompts, out.splitlines())]
        assert len(cases) == len(prompts)
        ref = {"model": os.path.basename(model), "sha256": sha256(model),
               "n_predict": N_PREDICT, "generator": "llama.cpp (llama-cpp-python 0.3.36 sdist), greedy, default context params",
               "cases": cases}
        dst = os.path.join(root, "tests/golden", f"llm_ref_{q}.json")
        with open(dst, "w") as f:
            json.dump(ref, f, ensure_ascii=False, indent=0)
            f.write("\n")
        print(f"wrote {dst}: {len(cases)} cases")


if __name__ == "__main__":
    main()
