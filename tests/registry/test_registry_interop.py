#!/usr/bin/env python3
"""Interoperability of kaiwu's registry artifacts with other OCI clients, on
a plain loopback docker-registry: skopeo reads what kaiwu pushed (ModelPack
manifest and config), the oras SDK pulls the same bytes, skopeo copies it to
another repo for kaiwu, and kaiwu pulls artifacts that oras pushed (model
layer picked by title / as the only layer). PASS/FAIL per check; exit 0, 1,
or 77 (skipped: model, skopeo or oras missing, KW_REQUIRE_MODELS unset).
"""
import hashlib, json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registries import (MODEL, Registries, check, fails,  # noqa: E402
                        guarded, info, kw, oras_push, preflight, run_tests,
                        sha256_file, show, stored_entry, tools_missing,
                        write_small_gguf)

SKOPEO = "/usr/bin/skopeo"


def skopeo_raw(ref):
    p = subprocess.run([SKOPEO, "inspect", "--raw", "--tls-verify=false",
                        f"docker://{ref}"], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def test_kaiwu_to_others(reg, tmp, model, model_sha):
    C = reg.host
    ref = f"{C}/models/smollm2:q4_1"
    home = os.path.join(tmp, "home-push")
    res = kw(["push", model, ref, "--plain-http", "-q", "--json"], home)
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
    st, _, body = reg.request(f"/v2/models/smollm2/blobs/{cfg_desc.get('digest')}")
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
    info(f"config: {body[:300]!r}")

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
        res = kw(["pull", dst, "--plain-http", "-q", "--json"], home2)
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
        res = kw(["pull", ref, "--plain-http", "-q", "--json"], home)
        doc = res[3] if isinstance(res[3], dict) else {}
        check(f"{name}: kaiwu pull, same bytes",
              res[0] == 0 and os.path.isfile(doc.get("path", ""))
              and sha256_file(doc["path"]) == sha256_file(want), show(res))
        e = stored_entry(home, ref)
        check(f"{name}: kaiwu models shows it",
              e is not None and e.get("size") == os.path.getsize(want)
              and (fmt is None or e.get("format") == fmt), f"entry={e}")


def main():
    missing = tools_missing(auth=False)
    if not os.path.isfile(MODEL):
        missing.append(MODEL)
    if not os.access(SKOPEO, os.X_OK):
        missing.append(SKOPEO)
    try:
        import oras.client  # noqa: F401
    except ImportError:
        missing.append("python module oras")
    rc = preflight(missing)
    if rc is not None:
        return rc

    def body(tmp):
        with Registries(auth=False, proxy=False) as regs:
            guarded(test_kaiwu_to_others, regs.c, tmp, MODEL, sha256_file(MODEL))
            guarded(test_oras_to_kaiwu, regs.c, tmp)
            if fails:
                regs.print_logs()
    return run_tests("kw-reginterop-", body)


if __name__ == "__main__":
    sys.exit(main())
