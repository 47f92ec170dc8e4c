#!/usr/bin/env python3
"""serve_load.py - `kaiwu serve` against llama.cpp's llama-server under load:
1, 4 and 8 concurrent streaming chat clients, same GGUF, same slots
(--parallel / -np), threads and per-slot context (llama-server gets
-c ctx*slots since it splits its context over the slots), greedy, the same
prompts (each with a system message, so chatml and the model's Jinja
template render the same tokens) and the same max_tokens.

Each client sends --requests requests one after another. Measured on the
client: time to first token (request sent -> first content chunk),
inter-token latency (gaps between content chunks; one chunk per token on
both servers), generated tokens (usage.completion_tokens of the stream;
EOS is not ignorable portably, so actual counts are used) and the
aggregate generated tokens/s over the wall time of the whole level.
Reported per server and level: tokens/s, p50/p99 TTFT, p50/p99 ITL and the
kaiwu/llama-server ratios (tokens/s: higher is better for kaiwu; latency:
lower). The two servers alternate for --rounds rounds; the best round
(highest tokens/s) of each is kept.

Usage: bench/serve_load.py [--kaiwu build/kaiwu] [--llama-server PATH]
         [--model models/SmolLM2-135M-Instruct.Q4_1.gguf] [--clients 1,4,8]
         [--parallel 8] [--threads N] [--ctx 1024] [--max-tokens 128]
         [--requests 2] [--rounds 1] [--only kaiwu|llama-server]
         [--llama-extra "--poll 0"] [--json]
"""
import argparse
import glob
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM = "You are a helpful assistant. Answer at length."
PROMPTS = [
    "Write a long story about a lighthouse keeper and a storm.",
    "Explain in detail how a steam engine works.",
    "Describe a journey across a desert, day by day.",
    "Write a long letter to a friend about your garden.",
    "Explain the water cycle step by step with examples.",
    "Tell the history of a small fishing village in detail.",
    "Describe how bread is made, from wheat field to table.",
    "Write a detailed guide to planning a mountain hike.",
    "Write a long poem about the seasons of the year.",
    "Explain how computers store numbers, with examples.",
    "Describe a busy market in the morning, in detail.",
    "Tell a long fairy tale about a clever fox.",
    "Explain how bees make honey, step by step.",
    "Write a travel diary of a week in an old city.",
    "Describe the life of a tree over a hundred years.",
    "Explain how trains changed the world, in detail.",
]


def default_llama_server():
    env = os.environ.get("KW_LLAMA_SERVER")
    if env:
        return env
    hits = sorted(glob.glob(os.path.expanduser(
        "~/.cache/kaiwu-peer/*/vendor/llama.cpp/build/bin/llama-server")))
    return hits[-1] if hits else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def has_flag(binary, flag):
    r = subprocess.run([binary, "--help"], capture_output=True, timeout=30)
    return flag.encode() in r.stdout + r.stderr


class Proc:
    """A server process on a free port, ready once GET /health is 200."""

    def __init__(self, name, cmd_for_port, timeout=120):
        self.name = name
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.cmd = cmd_for_port(self.port)
        self.p = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        t0 = time.time()
        while True:
            if self.p.poll() is not None:
                raise RuntimeError("%s exited %d:\n%s" % (name, self.p.returncode, self.tail()))
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            if time.time() - t0 > timeout:
                self.stop()
                raise RuntimeError("%s not ready after %ds:\n%s" % (name, timeout, self.tail()))
            time.sleep(0.1)

    def tail(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-2000:]

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def one_request(port, prompt, max_tokens, timeout=600):
    """One streaming chat request; returns dict(ttft, gaps, tokens, chunks)."""
    body = json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                    {"role": "user", "content": prompt}],
                       "max_tokens": max_tokens, "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body=body,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError("HTTP %d: %r" % (r.status, r.read()[:300]))
    stamps, usage, text = [], None, []
    while True:
        line = r.readline()
        if not line:
            break
        line = line.strip()
        if not line.startswith(b"data: "):
            continue
        data = line[6:]
        if data == b"[DONE]":
            break
        now = time.perf_counter()
        ev = json.loads(data)
        if ev.get("usage"):
            usage = ev["usage"]
        for ch in ev.get("choices") or []:
            piece = (ch.get("delta") or {}).get("content")
            if piece:
                stamps.append(now)
                text.append(piece)
    c.close()
    tokens = usage["completion_tokens"] if usage else len(stamps)
    return {"ttft": (stamps[0] - t0) if stamps else None,
            "gaps": [b - a for a, b in zip(stamps, stamps[1:])],
            "tokens": tokens, "chunks": len(stamps), "text": "".join(text),
            "start": t0, "end": time.perf_counter()}


def pct(xs, p):
    """Percentile p (0..100) by linear interpolation; None if empty."""
    if not xs:
        return None
    s = sorted(xs)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def run_level(port, n_clients, n_requests, max_tokens):
    """n_clients threads, each n_requests sequential streams."""
    results, errors, lock = [], [], threading.Lock()

    def client(ci):
        for k in range(n_requests):
            prompt = PROMPTS[(ci * n_requests + k) % len(PROMPTS)]
            try:
                res = one_request(port, prompt, max_tokens)
                res["prompt"] = prompt
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(repr(e))
                return
            with lock:
                results.append(res)
    t0 = time.perf_counter()
    ths = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError("client errors: %s" % errors[:3])
    ttft = [r["ttft"] for r in results if r["ttft"] is not None]
    gaps = [g for r in results for g in r["gaps"]]
    toks = sum(r["tokens"] for r in results)
    return {"clients": n_clients, "requests": len(results), "tokens": toks,
            "wall_s": round(wall, 3), "tok_s": round(toks / wall, 2),
            "ttft_p50_ms": ms(pct(ttft, 50)), "ttft_p99_ms": ms(pct(ttft, 99)),
            "itl_p50_ms": ms(pct(gaps, 50)), "itl_p99_ms": ms(pct(gaps, 99)),
            "tokens_per_request": sorted(r["tokens"] for r in results),
            "texts": {r["prompt"]: r["text"] for r in results}}


def ms(x):
    return None if x is None else round(x * 1e3, 2)


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kaiwu", default=os.path.join(ROOT, "build", "kaiwu"))
    ap.add_argument("--llama-server", default=default_llama_server(),
                    help="llama-server binary (default: $KW_LLAMA_SERVER or "
                         "~/.cache/kaiwu-peer/*/vendor/llama.cpp/build/bin/llama-server)")
    ap.add_argument("--model", default=os.path.join(ROOT, "models",
                                                    "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--clients", default="1,4,8")
    ap.add_argument("--parallel", type=int, default=0, help="slots (default: most clients)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--ctx", type=int, default=1024, help="context per slot")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--requests", type=int, default=2, help="sequential requests per client")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", choices=["kaiwu", "llama-server"])
    ap.add_argument("--llama-extra", default="",
                    help="extra llama-server arguments, e.g. '--poll 0' (its worker threads "
                         "spin while waiting by default, which hurts on a busy machine)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    a = ap.parse_args()
    clients = [int(x) for x in a.clients.split(",")]
    slots = a.parallel or max(clients)
    if not os.path.exists(a.model):
        sys.exit("%s missing: run `make models`" % a.model)

    servers = []
    if a.only != "llama-server":
        if not os.access(a.kaiwu, os.X_OK):
            sys.exit("%s: not found (build kaiwu, or pass --kaiwu)" % a.kaiwu)
        servers.append(("kaiwu", lambda port: [
            a.kaiwu, "serve", "-m", a.model, "--port", str(port), "--parallel", str(slots),
            "--threads", str(a.threads), "--ctx", str(a.ctx),
            "--queue", str(max(64, 2 * max(clients)))]))
    if a.only != "kaiwu":
        ls = a.llama_server
        if not ls or not os.access(ls, os.X_OK):
            sys.exit("llama-server not found (pass --llama-server or set KW_LLAMA_SERVER)")
        extra = ["--no-webui"] if has_flag(ls, "--no-webui") else []
        servers.append(("llama-server", lambda port: [
            ls, "-m", a.model, "--port", str(port), "-np", str(slots), "-t", str(a.threads),
            "-tb", str(a.threads), "-c", str(a.ctx * slots), "--no-kv-unified"] + extra + a.llama_extra.split()))

    best = {}  # (server, clients) -> level result
    for rnd in range(a.rounds):
        for name, cmd in servers:
            p = Proc(name, cmd)
            try:
                one_request(p.port, "Say hi.", 8)  # warm-up
                for n in clients:
                    r = run_level(p.port, n, a.requests, a.max_tokens)
                    r["round"] = rnd
                    if not a.json:
                        print("  round %d %-12s %d clients: %7.1f tok/s  ttft p50 %7.1f ms  "
                              "itl p50 %6.1f p99 %6.1f ms  (%d tokens)"
                              % (rnd, name, n, r["tok_s"], r["ttft_p50_ms"] or 0,
                                 r["itl_p50_ms"] or 0, r["itl_p99_ms"] or 0, r["tokens"]),
                              file=sys.stderr, flush=True)
                    k = (name, n)
                    if k not in best or r["tok_s"] > best[k]["tok_s"]:
                        best[k] = r
            finally:
                p.stop()

    rows = []
    for n in clients:
        row = {"clients": n}
        for name, _ in servers:
            r = dict(best[(name, n)])
            r.pop("texts")
            row[name] = r
        if len(servers) == 2:
            k, l = row["kaiwu"], row["llama-server"]
            row["ratio"] = {"tok_s": ratio(k["tok_s"], l["tok_s"]),
                            "ttft_p50": ratio(k["ttft_p50_ms"], l["ttft_p50_ms"]),
                            "ttft_p99": ratio(k["ttft_p99_ms"], l["ttft_p99_ms"]),
                            "itl_p50": ratio(k["itl_p50_ms"], l["itl_p50_ms"]),
                            "itl_p99": ratio(k["itl_p99_ms"], l["itl_p99_ms"])}
            tk, tl = best[("kaiwu", n)]["texts"], best[("llama-server", n)]["texts"]
            row["same_text"] = sum(1 for q in tk if tl.get(q) == tk[q])
        rows.append(row)

    info = {"model": os.path.basename(a.model), "slots": slots, "threads": a.threads,
            "ctx_per_slot": a.ctx, "max_tokens": a.max_tokens, "requests_per_client": a.requests,
            "rounds": a.rounds, "llama_extra": a.llama_extra, "cpus": os.cpu_count(),
            "loadavg_1min": round(os.getloadavg()[0], 2)}
    if a.json:
        print(json.dumps(dict(info, results=rows), indent=1))
        return
    print("\n%s, %d slots, %d threads, ctx %d per slot, greedy, max_tokens %d, %d requests "
          "per client, best of %d rounds; %d CPUs, load average %.2f"
          % (info["model"], slots, a.threads, a.ctx, a.max_tokens, a.requests, a.rounds,
             os.cpu_count(), os.getloadavg()[0]))
    print("| clients | server | tokens | tok/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | "
          "ITL p99 ms |")
    print("|" + "---|" * 8)
    for row in rows:
        for name, _ in servers:
            r = row[name]
            print("| %d | %s | %d | %.1f | %s | %s | %s | %s |" % (
                row["clients"], name, r["tokens"], r["tok_s"],
                *["%.1f" % r[k] if r[k] is not None else "-" for k in
                  ("ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms")]))
        if "ratio" in row:
            q = row["ratio"]
            print("| %d | **kaiwu/llama-server** | | **%s** | %s | %s | %s | **%s** |" % (
                row["clients"], *[("%.2f" % q[k]) if q[k] is not None else "-" for k in
                                  ("tok_s", "ttft_p50", "ttft_p99", "itl_p50", "itl_p99")]))
    if len(servers) == 2:
        print("\nsame greedy text on both servers: %s of the prompts per level"
              % ", ".join("%d clients %d" % (r["clients"], r["same_text"]) for r in rows))


if __name__ == "__main__":
    main()
