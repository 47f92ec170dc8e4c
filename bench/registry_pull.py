#!/usr/bin/env python3
"""Pull speed of kaiwu against curl on a loopback docker-registry.

Pushes the model with `kaiwu push`, then alternates N times: curl fetching
the weight blob (GET /v2/REPO/blobs/DIGEST, no verification) and `kaiwu
pull` into a fresh KAIWU_HOME (ranged, parallel, sha256-verified, stored).
Prints the median seconds and MB/s of each, the kaiwu/curl speed ratio, the
same with both held to one link speed (--link, one connection each: what a
registry on another machine looks like), and the bytes moved by a pull
resumed after kill -9. "curl + sha256" is curl, then `openssl dgst -sha256`
(SHA-NI) on the file: the cost of a verified download with standard tools.
usage: bench/registry_pull.py [--kaiwu build/kaiwu] [--model FILE] [--runs 5]
                              [--connections N] [--link MB_PER_S]
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys
import tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "registry"))
from registries import Registries, clean_env, run_kaiwu, sha256_file  # noqa: E402


def timed(cmd, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-1000:]}")
    return dt, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kaiwu", default=os.environ.get("KW_BIN",
                                                      os.path.join(ROOT, "build", "kaiwu")))
    ap.add_argument("--model", default=os.path.join(
        os.environ.get("KW_MODELS_DIR", os.path.join(ROOT, "models")),
        "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--connections", type=int, default=0,
                    help="kaiwu pull --connections (0: kaiwu's default)")
    ap.add_argument("--link", type=float, default=100,
                    help="link speed in MB/s for the link-limited runs (0: skip)")
    a = ap.parse_args()
    kaiwu = os.path.abspath(a.kaiwu)
    size = os.path.getsize(a.model)
    digest = "sha256:" + sha256_file(a.model)
    tmp = tempfile.mkdtemp(prefix="kw-bench-reg-")
    try:
        with Registries(auth=False, proxy=False) as regs:
            host = regs.c.host
            ref = f"{host}/bench/model:v1"
            rc, _, err, _ = run_kaiwu(kaiwu, ["push", a.model, ref, "--plain-http", "-q"],
                                      os.path.join(tmp, "push-home"))
            if rc != 0:
                sys.exit(f"kaiwu push failed ({rc}): {err[-1000:]}")
            url = f"{regs.c.url}/v2/bench/model/blobs/{digest}"
            conn = ["--connections", str(a.connections)] if a.connections else []
            curl_t, curl_sha_t, kw_t = [], [], []
            for i in range(a.runs):
                out = os.path.join(tmp, "curl.bin")
                dt, _ = timed(["curl", "-sSf", "-o", out, url])
                curl_t.append(dt)
                dt2, _ = timed(["openssl", "dgst", "-sha256", out])
                curl_sha_t.append(dt + dt2)
                os.remove(out)
                home = os.path.join(tmp, f"home{i}")
                dt, _ = timed([kaiwu, "pull", ref, "--plain-http", "-q"] + conn,
                              clean_env(home))
                kw_t.append(dt)
                shutil.rmtree(home)
                print(f"run {i + 1}: curl {curl_t[-1]:.3f} s  kaiwu {kw_t[-1]:.3f} s",
                      flush=True)
            mb = size / 1e6
            c, cs, k = (statistics.median(x) for x in (curl_t, curl_sha_t, kw_t))
            print(f"\nblob {mb:.1f} MB, median of {a.runs} runs (loopback, "
                  f"{os.cpu_count()} cores)")
            print(f"  curl GET blob        {c:7.3f} s  {mb / c:8.1f} MB/s")
            print(f"  curl + sha256        {cs:7.3f} s  {mb / cs:8.1f} MB/s")
            print(f"  kaiwu pull           {k:7.3f} s  {mb / k:8.1f} MB/s")
            print(f"  kaiwu/curl speed     {c / k:7.2f}x   (vs curl+sha256 "
                  f"{cs / k:.2f}x)")
            link = None
            if a.link > 0:
                rate = str(int(a.link * 1e6))
                lc, lk = [], []
                for i in range(a.runs):
                    out = os.path.join(tmp, "curl.bin")
                    lc.append(timed(["curl", "-sSf", "--limit-rate", rate, "-o",
                                     out, url])[0])
                    os.remove(out)
                    home = os.path.join(tmp, f"lhome{i}")
                    lk.append(timed([kaiwu, "pull", ref, "--plain-http", "-q",
                                     "--limit-rate", rate, "--connections", "1"],
                                    clean_env(home))[0])
                    shutil.rmtree(home)
                lcm, lkm = statistics.median(lc), statistics.median(lk)
                link = {"mb_s": a.link, "curl_s": lcm, "kaiwu_s": lkm,
                        "ratio": lcm / lkm}
                print(f"\nboth limited to {a.link:g} MB/s, one connection each:")
                print(f"  curl GET blob        {lcm:7.3f} s  {mb / lcm:8.1f} MB/s")
                print(f"  kaiwu pull           {lkm:7.3f} s  {mb / lkm:8.1f} MB/s")
                print(f"  kaiwu/curl speed     {lcm / lkm:7.2f}x")

            # Resume: a rate-limited single-connection pull killed after ~2 s.
            home = os.path.join(tmp, "home-resume")
            p = subprocess.Popen([kaiwu, "pull", ref, "--plain-http", "-q",
                                  "--limit-rate", "10000000", "--connections", "1"],
                                 env=clean_env(home), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(2)
            finished = p.poll() is not None
            if not finished:
                os.kill(p.pid, signal.SIGKILL)
            p.wait()
            if finished:
                print("\nthe rate-limited pull finished within 2 s: --limit-rate "
                      "had no effect, so there is nothing to resume")
            t0 = time.perf_counter()
            rc, out, err, doc = run_kaiwu(kaiwu, ["pull", ref, "--plain-http", "-q",
                                                  "--json"] + conn, home)
            dt = time.perf_counter() - t0
            if rc != 0 or not isinstance(doc, dict):
                sys.exit(f"resumed pull failed ({rc}): {err[-1000:]}")
            tot, mov, res = (doc.get(k, 0) for k in ("bytes_total", "bytes_moved",
                                                     "bytes_resumed"))
            print(f"\nresumed pull after kill -9 at ~2 s (10 MB/s limit): "
                  f"{dt:.3f} s")
            print(f"  bytes_total {tot}  bytes_moved {mov} ({100 * mov / max(tot, 1):.1f}%)"
                  f"  bytes_resumed {res} ({100 * res / max(tot, 1):.1f}%)")
            print(json.dumps({"blob_bytes": size, "curl_s": c, "curl_sha256_s": cs,
                              "kaiwu_s": k, "ratio": c / k, "link": link,
                              "resume": doc}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
