#!/usr/bin/env python3
"""Interoperability of kaiwu's registry artifacts with other OCI clients, on
a plain loopback docker-registry: skopeo reads what kaiwu pushed (ModelPack
manifest and config), the oras SDK pulls the same bytes, skopeo copies it to
another repo for kaiwu, and kaiwu pulls artifacts that oras pushed (model
layer picked by title / as the only layer). PASS/FAIL per check; exit 0, 1,
or 77 (skipped: model, skopeo or oras missing, KW_REQUIRE_MODELS unset).
"""
import json, os, shutil, subprocess, sys, tempfile, time
import hashlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registries import (Registries, oras_push, run_kaiwu,  # noqa: E402
                        sha256_file, tools_missing, write_small_gguf)

MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
models_dir = os.environ.get("KW_MODELS_DIR", "models")
kaiwu = os.path.abspath(os.environ.get("KW_BIN", "build/kaiwu"))
require = os.environ.get("KW_REQUIRE_MODELS") == "1"
SKOPEO = "/usr/bin/skopeo"

fails = []
passes = 0


def check(name, ok, detail=""):
    global passes
    if ok:
        passes += 1
        print(f"PASS {name}", flush=True)
    else:
        fails.append(name)
        print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def show(res):
    rc, out, err, _ = res
    return f"rc={rc} stdout={out.strip()[-500:]!r} stderr={err.strip()[-800:]!r}"


def skopeo_raw(ref):
    p = subprocess.run([SKOPEO, "inspect", "--raw", "--tls-verify=false",
                        f"docker://{ref}"], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def entry(home, name):
    rc, _, _, doc = run_kaiwu(kaiwu, ["models", "--json"], home)
    for e in doc if rc == 0 and isinstance(doc, list) else []:
        if e.get("name") == name:
            return e
    return None


def test_kaiwu_to_others(reg, tmp, model, model_sha):
    C = reg.host
    ref = f"{C}/models/smollm2:q4_1"
    home = os.path.join(tmp, "home-push")
    res = run_kaiwu(kaiwu, ["push", model, ref, "--plain-http", "-q", "--json"], home)
    if not check("kaiwu push to C", res[0] == 0 and isinstance(res[3], dict), show(res)):
        return
    pushed = res[3].get("digest")

    rc, raw, err = skopeo_raw(ref)
    if not check("skopeo inspect --raw reads the manifest", rc == 0, err[-500:]):
        return
    check("manifest bytes hash to kaiwu's digest",
          "sha256:" + hashlib.sha256(raw).hexdigest() == pushed, f"kaiwu={pushed}")
    man = json.loads(raw)
    check("manifest mediaType is the OCI image manifest",
          man.get("mediaType") == "application/vnd.oci.image.manifest.v1+json", raw[:300])
    check("artifactType application/vnd.cncf.model.manifest.v1+json",
          man.get("artifactType") == "application/vnd.cncf.model.manifest.v1+json",
          raw[:300])
    layers = man.get("layers", [])
    layer = layers[0] if len(layers) == 1 else {}
    check("one layer application/vnd.cncf.model.weight.v1.raw",
          layer.get("mediaType") == "application/vnd.cncf.model.weight.v1.raw"
          and layer.get("digest") == "sha256:" + model_sha
          and layer.get("size") == os.path.getsize(model), f"layers={layers}")
    ann = layer.get("annotations", {})
    base = os.path.basename(model)
    check("layer annotations title and filepath = file name",
          ann.get("org.opencontainers.image.title") == base
          and ann.get("org.cncf.model.filepath") == base, f"annotations={ann}")
    cfg_desc = man.get("config", {})
    check("config mediaType application/vnd.cncf.model.config.v1+json",
          cfg_desc.get("mediaType") == "application/vnd.cncf.model.config.v1+json",
          f"config={cfg_desc}")
    st, _, body = reg.get(f"/v2/models/smollm2/blobs/{cfg_desc.get('digest')}")
    try:
        cfg = json.loads(body) if st == 200 else {}
    except ValueError:
        cfg = {}
    check("ModelPack config: format gguf, modelfs diff_ids = [layer]",
          cfg.get("config", {}).get("format") == "gguf"
          and cfg.get("modelfs", {}).get("type") == "layers"
          and cfg.get("modelfs", {}).get("diff_ids") == ["sha256:" + model_sha]
          and "name" in cfg.get("descriptor", {})
          and "createdAt" in cfg.get("descriptor", {}), f"config={body[:400]!r}")
    print(f"INFO config: {body[:300]!r}")

    import oras.client
    out = os.path.join(tmp, "oras-out")
    try:
        cl = oras.client.OrasClient(hostname=C, insecure=True)
        files = cl.pull(target=ref, outdir=out)
    except Exception as e:  # oras raises plain exceptions on protocol errors
        files = []
        check("oras pulls kaiwu's artifact", False, f"{type(e).__name__}: {e}")
    else:
        got = [f for f in files if os.path.basename(f) == base]
        check("oras pulls kaiwu's artifact, file byte-identical",
              len(got) == 1 and sha256_file(got[0]) == model_sha, f"files={files}")

    dst = f"{C}/copied/smollm2:q4_1"
    p = subprocess.run([SKOPEO, "copy", "-q", "--src-tls-verify=false",
                        "--dest-tls-verify=false", "--preserve-digests",
                        f"docker://{ref}", f"docker://{dst}"],
                       capture_output=True, text=True, timeout=120)
    if check("skopeo copy to another repo", p.returncode == 0, p.stderr[-500:]):
        home2 = os.path.join(tmp, "home-skopeo")
        res = run_kaiwu(kaiwu, ["pull", dst, "--plain-http", "-q", "--json"], home2)
        doc = res[3] if isinstance(res[3], dict) else {}
        check("kaiwu pulls skopeo's copy, same digest and bytes",
              res[0] == 0 and doc.get("digest") == pushed
              and os.path.isfile(doc.get("path", ""))
              and sha256_file(doc["path"]) == model_sha, show(res))


def test_oras_to_kaiwu(reg, tmp):
    C = reg.host
    src = os.path.join(tmp, "oras-src")
    os.makedirs(src)
    cases = []
    # 1. one .gguf file: the layer is picked by its title.
    g = os.path.join(src, "tiny.gguf")
    write_small_gguf(g, 1 << 16)
    cases.append(("oras artifact with one .gguf", "oras/tiny:v1", [g], g, "gguf"))
    # 2. a .gguf beside a README: the .gguf layer is picked.
    d2 = os.path.join(src, "two")
    os.makedirs(d2)
    g2 = os.path.join(d2, "model.gguf")
    write_small_gguf(g2, 1 << 15)
    with open(os.path.join(d2, "README.md"), "w") as f:
        f.write("# a model\n")
    cases.append(("oras artifact .gguf + README", "oras/two:v1",
                  [g2, os.path.join(d2, "README.md")], g2, "gguf"))
    # 3. one layer with another name: the only layer is the model.
    d3 = os.path.join(src, "three")
    os.makedirs(d3)
    w = os.path.join(d3, "weights.bin")
    write_small_gguf(w, 1 << 14)
    cases.append(("oras artifact with a single non-.gguf layer", "oras/bin:v1", [w], w, None))

    for name, target, paths, want, fmt in cases:
        try:
            oras_push(C, target, paths)
        except Exception as e:
            check(f"{name}: oras push", False, f"{type(e).__name__}: {e}")
            continue
        home = os.path.join(tmp, "home-" + target.replace("/", "-").replace(":", "-"))
        ref = f"{C}/{target}"
        res = run_kaiwu(kaiwu, ["pull", ref, "--plain-http", "-q", "--json"], home)
        doc = res[3] if isinstance(res[3], dict) else {}
        check(f"{name}: kaiwu pull, same bytes",
              res[0] == 0 and os.path.isfile(doc.get("path", ""))
              and sha256_file(doc["path"]) == sha256_file(want), show(res))
        e = entry(home, ref)
        check(f"{name}: kaiwu models shows it",
              e is not None and e.get("size") == os.path.getsize(want)
              and (fmt is None or e.get("format") == fmt), f"entry={e}")


def main():
    model = os.path.join(models_dir, MODEL_NAME)
    missing = tools_missing(auth=False)
    if not os.path.isfile(model):
        missing.append(model)
    if not os.access(SKOPEO, os.X_OK):
        missing.append(SKOPEO)
    try:
        import oras.client  # noqa: F401
    except ImportError:
        missing.append("python module oras")
    if missing:
        print(f"missing: {', '.join(missing)}")
        return 1 if require else 77
    if not os.access(kaiwu, os.X_OK):
        print(f"FAIL kaiwu CLI not found at {kaiwu} (set KW_BIN)")
        return 1
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="kw-reginterop-")
    try:
        with Registries(auth=False, proxy=False) as regs:
            for fn, args in ((test_kaiwu_to_others, (regs.c, tmp, model, sha256_file(model))),
                             (test_oras_to_kaiwu, (regs.c, tmp))):
                try:
                    fn(*args)
                except Exception as e:
                    import traceback
                    traceback.print_exc()
                    check(f"{fn.__name__} raised {type(e).__name__}", False, str(e))
            if fails:
                regs.print_logs()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passes} passed, {len(fails)} failed in {time.time() - t0:.1f} s")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
