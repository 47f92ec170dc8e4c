#!/usr/bin/env python3
"""End-to-end test of kaiwu push / pull / mirror / models / rm against
loopback docker-registry processes (see registries.py): auth, cross-repo
mounts, pulls by tag, by digest and through a pull-through cache, mirroring,
resumed pulls, corrupted blobs, rm, and hostile references. Every check prints
one PASS/FAIL line; exit 0 all passed, 1 some failed, 77 skipped (model or
registry tools missing and KW_REQUIRE_MODELS unset).
"""
import json, os, signal, subprocess, sys, time
import urllib.error, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registries import (KAIWU, MODEL, Registries, check,  # noqa: E402
                        clean_env, fails, guarded, info, kw, oras_push,
                        preflight, run_tests, sha256_file, show,
                        stored_entry, stored_models, tools_missing,
                        write_small_gguf)


class Ctx:
    """What the scenarios share."""

    def __init__(self, regs, tmp, model):
        self.regs, self.tmp, self.model = regs, tmp, model
        self.model_size = os.path.getsize(model)
        self.model_sha = sha256_file(model)
        self.creds = (regs.user, regs.password)
        self.A, self.B, self.C = regs.a.host, regs.b.host, regs.c.host
        self.ref_a = f"{self.A}/models/smollm2:q4_1"
        self.manifest = None   # "sha256:..." of ref_a's manifest on A
        self.homes = 0

    def home(self, tag):
        self.homes += 1
        return os.path.join(self.tmp, f"home{self.homes}-{tag}")


def blob_files(home):
    """Files under HOME/blobs (relative paths)."""
    root = os.path.join(home, "blobs")
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return found


def dir_bytes(path, allocated=False):
    """Sum of the file sizes under path; with allocated, of the blocks on
    disk (a partial download is a sparse file of the blob's full size)."""
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                st = os.stat(os.path.join(d, f))
                total += st.st_blocks * 512 if allocated else st.st_size
            except OSError:
                pass
    return total


def layer_of(doc, size):
    """The blob of a transfer report with the given size (the model layer)."""
    for b in (doc or {}).get("blobs", []):
        if b.get("size") == size:
            return b
    return None


def registry_manifest(reg, repo, tag):
    st, _, body = reg.request(f"/v2/{repo}/manifests/{tag}",
                              accept="application/vnd.oci.image.manifest.v1+json")
    return json.loads(body) if st == 200 else None


# ---- 1. push ---------------------------------------------------------------

def s1_push(c):
    home = c.home("push")
    c.push_home = home
    push = ["push", c.model, c.ref_a, "--plain-http", "-q", "--json"]
    res = kw(push, home, c.creds)
    rc, _, _, doc = res
    if check("1 push to A exits 0 with JSON", rc == 0 and isinstance(doc, dict),
             show(res)):
        blobs = doc.get("blobs", [])
        check("1 push reports 2 blobs, all transferred",
              len(blobs) == 2 and all(b.get("action") == "transferred" for b in blobs),
              f"blobs={blobs}")
        layer = layer_of(doc, c.model_size)
        check("1 push layer digest is the file's sha256",
              layer is not None and layer.get("digest") == "sha256:" + c.model_sha,
              f"layer={layer}")
        on_a = c.regs.a.manifest_digest("models/smollm2", "q4_1")
        check("1 push JSON digest is A's manifest digest",
              doc.get("digest") == on_a, f"json={doc.get('digest')} A={on_a}")
        check("1 push bytes_moved >= file size",
              doc.get("bytes_moved", 0) >= c.model_size, f"doc={doc}")
        c.push_doc = doc

    man = registry_manifest(c.regs.a, "models/smollm2", "q4_1")
    if man is None:
        # Seed A through its auth-less back door so the pull scenarios still
        # say something about pull when push is broken.
        info("A lacks the model after kaiwu push; seeding it with oras")
        oras_push(c.regs.a0.host, "models/smollm2:q4_1", [c.model])
        man = registry_manifest(c.regs.a, "models/smollm2", "q4_1")
    c.manifest = c.regs.a.manifest_digest("models/smollm2", "q4_1")
    if man:
        check("1 manifest on A is a ModelPack artifact",
              man.get("artifactType") == "application/vnd.cncf.model.manifest.v1+json"
              and man.get("config", {}).get("mediaType")
              == "application/vnd.cncf.model.config.v1+json"
              and len(man.get("layers", [])) == 1
              and man["layers"][0].get("mediaType")
              == "application/vnd.cncf.model.weight.v1.raw"
              and man["layers"][0].get("annotations", {}).get(
                  "org.opencontainers.image.title") == os.path.basename(c.model),
              json.dumps(man)[:600])
        c.manifest_json = man

    res = kw(push, home, c.creds)
    rc, _, _, doc = res
    if check("1 second push exits 0", rc == 0 and isinstance(doc, dict), show(res)):
        blobs = doc.get("blobs", [])
        check("1 second push: both blobs present",
              len(blobs) == 2 and all(b.get("action") == "present" for b in blobs),
              f"blobs={blobs}")
        check("1 second push moves < 1 MiB",
              doc.get("bytes_moved", 1 << 30) < (1 << 20), f"bytes_moved={doc.get('bytes_moved')}")

    other = f"{c.A}/other/smollm2:q4_1"
    res = kw(["push", c.model, other, "--plain-http", "-q", "--json"], home, c.creds)
    rc, _, _, doc = res
    if check("1 push to A/other exits 0", rc == 0 and isinstance(doc, dict), show(res)):
        layer = layer_of(doc, c.model_size)
        check("1 push to A/other mounts the layer",
              layer is not None and layer.get("action") == "mounted",
              f"blobs={doc.get('blobs')}")
        check("1 push to A/other moves < 1 MiB",
              doc.get("bytes_moved", 1 << 30) < (1 << 20), f"bytes_moved={doc.get('bytes_moved')}")
    check("1 A/other/smollm2:q4_1 exists on A",
          c.regs.a.manifest_digest("other/smollm2", "q4_1") is not None)
    # Later scenarios compare with what the tag names now (a push that is not
    # reproducible moves it; the "present" check above already says so).
    now = c.regs.a.manifest_digest("models/smollm2", "q4_1")
    if now != c.manifest:
        info(f"A's models/smollm2:q4_1 moved from {c.manifest} to {now}")
        c.manifest = now
        c.manifest_json = registry_manifest(c.regs.a, "models/smollm2", "q4_1")


# ---- 2. authentication ------------------------------------------------------

def s2_auth(c):
    bad_pw = "Wr0ng-pa55word-XYZZY"
    home = c.home("auth")
    cases = [
        ("pull, wrong password", ["pull", c.ref_a], (c.regs.user, bad_pw)),
        ("push, wrong password", ["push", c.model, f"{c.A}/models/denied:x"],
         (c.regs.user, bad_pw)),
        ("pull, no credentials", ["pull", c.ref_a], None),
    ]
    for name, args, creds in cases:
        res = kw(args + ["--plain-http", "-q"], home, creds, timeout=60)
        rc, out, err, _ = res
        low = err.lower()
        check(f"2 {name}: exit 1", rc == 1, show(res))
        check(f"2 {name}: message mentions 401/authentication",
              "401" in low or "auth" in low, show(res))
        check(f"2 {name}: password never printed",
              bad_pw not in out + err and c.regs.password not in out + err, show(res))
    check("2 nothing stored after auth failures",
          not (stored_models(home) or []) and not blob_files(home),
          f"models={stored_models(home)} blobs={blob_files(home)}")
    check("2 A has no models/denied after the failed push",
          c.regs.a.manifest_digest("models/denied", "x") is None)


# ---- 3. pull by tag, models, generate by name ---------------------------------

def check_pulled(c, label, home, ref, res, digest=None):
    rc, _, _, doc = res
    if not check(f"{label} exits 0 with JSON", rc == 0 and isinstance(doc, dict), show(res)):
        return None
    path = doc.get("path", "")
    ok = os.path.isfile(path)
    check(f"{label} JSON path is a file in KAIWU_HOME",
          ok and os.path.realpath(path).startswith(os.path.realpath(home) + os.sep),
          f"path={path!r}")
    if ok:
        check(f"{label} stored file sha256 equals the original",
              sha256_file(path) == c.model_sha)
    if digest:
        check(f"{label} manifest digest is {digest[:19]}..",
              doc.get("digest") == digest, f"json digest={doc.get('digest')}")
    e = stored_entry(home, ref)
    check(f"{label} `kaiwu models` lists {ref}", e is not None,
          f"models={stored_models(home)}")
    if e:
        check(f"{label} models entry: size, format gguf, digest",
              e.get("size") == c.model_size and e.get("format") == "gguf"
              and (digest is None or e.get("digest") == digest), f"entry={e}")
    return doc


def s3_pull(c):
    home = c.home("pull")
    c.pull_home = home
    res = kw(["pull", c.ref_a, "--plain-http", "-q", "--json"], home, c.creds)
    doc = check_pulled(c, "3 pull A by tag", home, c.ref_a, res, c.manifest)
    if doc:
        check("3 fresh pull: all blobs transferred, nothing resumed",
              len(doc.get("blobs", [])) == 2
              and all(b.get("action") == "transferred" for b in doc["blobs"])
              and doc.get("bytes_resumed") == 0
              and doc.get("bytes_moved") == doc.get("bytes_total")
              and doc.get("bytes_total", 0) > c.model_size, f"doc={doc}")
        want = os.path.join(home, "blobs", "sha256", c.model_sha)
        check("3 stored file is blobs/sha256/<layer hex>",
              os.path.exists(want) and os.path.samefile(doc.get("path", ""), want),
              f"path={doc.get('path')}")
        e = stored_entry(home, c.ref_a) or {}
        check("3 models entry file is the layer title",
              e.get("file") in (os.path.basename(c.model), doc.get("path")),
              f"entry={e}")
    gen = ["generate", "-n", "8", "-p", "Hello", "--temp", "0", "-t", "2"]
    by_name = kw(gen + ["-m", c.ref_a], home)
    by_path = kw(gen + ["-m", c.model], home)
    check("3 generate -m NAME exits 0", by_name[0] == 0 and by_name[1].strip(), show(by_name))
    check("3 generate -m NAME == generate -m FILE",
          by_name[0] == 0 and by_path[0] == 0 and by_name[1] == by_path[1],
          f"name={by_name[1]!r} file={by_path[1]!r} {show(by_path)}")
    res = kw(["info", c.ref_a], home)
    check("3 info NAME exits 0", res[0] == 0, show(res))


# ---- 4. pull by digest --------------------------------------------------------

def s4_digest(c):
    if not c.manifest:
        check("4 pull by digest (no manifest digest known)", False)
        return
    home = c.home("digest")
    ref = f"{c.A}/models/smollm2@{c.manifest}"
    res = kw(["pull", ref, "--plain-http", "-q", "--json"], home, c.creds)
    check_pulled(c, "4 pull A by digest", home, ref, res, c.manifest)
    hexd = c.manifest.split(":")[1]
    bad = hexd[:-1] + ("0" if hexd[-1] != "0" else "1")
    wrong = f"{c.A}/models/smollm2@sha256:{bad}"
    home2 = c.home("baddigest")
    res = kw(["pull", wrong, "--plain-http", "-q"], home2, c.creds, timeout=60)
    check("4 pull of a wrong digest exits 1 with a message",
          res[0] == 1 and res[2].strip().startswith("kaiwu:"), show(res))
    check("4 nothing stored for the wrong digest",
          not (stored_models(home2) or []) and not blob_files(home2))
    # A tag with a digest that is not the tag's: the digest must win or fail.
    both = f"{c.ref_a}@sha256:{bad}"
    res = kw(["pull", both, "--plain-http", "-q"], home2, c.creds, timeout=60)
    check("4 pull TAG@wrong-digest exits 1", res[0] == 1, show(res))


# ---- 5. pull-through cache ----------------------------------------------------

def warm_cache(reg, repo, digest, timeout=30):
    """Fills the pull-through cache with a blob: full GETs until it answers a
    Range request with 206 (a cold proxy streams the whole blob with 200)."""
    end = time.time() + timeout
    while time.time() < end:
        reg.request(f"/v2/{repo}/blobs/{digest}")
        req = urllib.request.Request(f"{reg.url}/v2/{repo}/blobs/{digest}",
                                     headers={"Range": "bytes=0-0"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                if r.status == 206:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def s5_cache(c):
    # A cold pull-through cache ignores Range (200 + the whole blob, fetched
    # from A while it streams); a warm one serves ranges from its storage.
    ref = f"{c.B}/models/smollm2:q4_1"
    home = c.home("cache-cold")
    res = kw(["pull", ref, "--plain-http", "-q", "--json"], home, None)
    check_pulled(c, "5 pull via cache B (cold)", home, ref, res, c.manifest)
    if not check("5 cache B holds the layer after a full GET",
                 warm_cache(c.regs.b, "models/smollm2", "sha256:" + c.model_sha)):
        return
    home = c.home("cache-warm")
    res = kw(["pull", ref, "--plain-http", "-q", "--json"], home, None)
    check_pulled(c, "5 pull via cache B (warm)", home, ref, res, c.manifest)


# ---- 6. mirror ----------------------------------------------------------------

def s6_mirror(c):
    home = c.home("mirror")
    dst = f"{c.C}/models/smollm2:q4_1"
    res = kw(["mirror", c.ref_a, dst, "--plain-http", "-q", "--json"], home, c.creds)
    rc, _, _, doc = res
    if check("6 mirror A -> C exits 0 with JSON", rc == 0 and isinstance(doc, dict), show(res)):
        check("6 mirror JSON digest is A's", doc.get("digest") == c.manifest,
              f"json={doc.get('digest')} A={c.manifest}")
    on_c = c.regs.c.manifest_digest("models/smollm2", "q4_1")
    check("6 C's manifest digest equals A's", on_c == c.manifest and on_c is not None,
          f"C={on_c} A={c.manifest}")
    check("6 mirror stores no model in KAIWU_HOME",
          dir_bytes(os.path.join(home, "blobs")) < (1 << 20),
          f"blobs={blob_files(home)}")
    home2 = c.home("fromc")
    res = kw(["pull", dst, "--plain-http", "-q", "--json"], home2)
    check_pulled(c, "6 pull from C", home2, dst, res, c.manifest)


# ---- 7. interrupted pull ------------------------------------------------------

def s7_resume(c):
    home = c.home("resume")
    ref = f"{c.C}/models/smollm2:q4_1"
    p = subprocess.Popen([KAIWU, "pull", ref, "--plain-http", "-q",
                          "--limit-rate", "5000000", "--connections", "1"],
                         env=clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    tmpdir = os.path.join(home, "tmp")
    while time.time() - t0 < 6:
        if p.poll() is not None:
            break
        if time.time() - t0 >= 2 and dir_bytes(tmpdir) > (1 << 20):
            break
        time.sleep(0.1)
    still = p.poll() is None
    if still:
        os.kill(p.pid, signal.SIGKILL)
    out, err = p.communicate()
    partial = dir_bytes(tmpdir, allocated=True)
    if not check("7 rate-limited pull (5 MB/s, 1 connection) still running after ~2 s",
                 still, f"it ended after {time.time() - t0:.1f} s with rc={p.returncode} "
                 f"stderr={err.decode(errors='replace')[-600:]!r}; --limit-rate is "
                 "not applied, so there is nothing to resume"):
        return
    check("7 partial bytes in KAIWU_HOME/tmp after kill -9",
          0 < partial < c.model_size, f"tmp bytes={partial}")
    info(f"7 killed after {time.time() - t0:.1f} s with {partial} bytes in tmp/")
    check("7 `kaiwu models` lists nothing after the kill",
          stored_models(home) == [], f"models={stored_models(home)}")
    check("7 no layer under blobs/ after the kill",
          c.model_sha not in " ".join(blob_files(home)), f"blobs={blob_files(home)}")

    res = kw(["pull", ref, "--plain-http", "-q", "--json"], home)
    doc = check_pulled(c, "7 resumed pull", home, ref, res, c.manifest)
    if doc:
        total = doc.get("bytes_total", 0)
        moved = doc.get("bytes_moved", 0)
        resumed = doc.get("bytes_resumed", 0)
        man = getattr(c, "manifest_json", None) or {}
        slack = man.get("config", {}).get("size", 0) + 4096
        info(f"7 resume: total={total} moved={moved} resumed={resumed}")
        check("7 bytes_resumed > 0", resumed > 0, f"doc={doc}")
        check("7 bytes_moved < bytes_total", moved < total, f"doc={doc}")
        check("7 bytes_moved + bytes_resumed == bytes_total (+- config/manifest)",
              abs(total - moved - resumed) <= slack and total >= c.model_size,
              f"total={total} moved={moved} resumed={resumed} slack={slack}")
    check("7 tmp/ empty after the resumed pull", dir_bytes(tmpdir) == 0,
          f"tmp bytes={dir_bytes(tmpdir)}")


# ---- 8. corrupted blob in the registry -----------------------------------------

def s8_corrupt(c):
    small = os.path.join(c.tmp, "small.gguf")
    write_small_gguf(small)
    small_sha = sha256_file(small)
    ref = f"{c.C}/models/corrupt:v1"
    home = c.home("corrupt-push")
    res = kw(["push", small, ref, "--plain-http", "-q", "--json"], home)
    if not check("8 push small GGUF to C", res[0] == 0, show(res)):
        oras_push(c.C, "models/corrupt:v1", [small])
    data = c.regs.c.blob_file("sha256:" + small_sha)
    if not check("8 blob data file found in C's storage", os.path.isfile(data), data):
        return
    with open(data, "r+b") as f:
        f.seek(os.path.getsize(data) // 2)
        orig = f.read(64)
        f.seek(-64, 1)
        f.write(bytes(b ^ 0x5A for b in orig))
    home2 = c.home("corrupt-pull")
    res = kw(["pull", ref, "--plain-http", "-q"], home2, timeout=60)
    low = res[2].lower()
    check("8 pull of corrupted blob exits 1", res[0] == 1, show(res))
    check("8 message says digest mismatch",
          "digest" in low and ("mismatch" in low or "match" in low), show(res))
    check("8 `kaiwu models` lists nothing", not (stored_models(home2) or []),
          f"models={stored_models(home2)}")
    check("8 no blob with the layer digest in blobs/",
          small_sha not in " ".join(blob_files(home2)), f"blobs={blob_files(home2)}")
    # Repaired registry: the next pull must not reuse corrupted partial bytes.
    with open(data, "r+b") as f:
        f.seek(os.path.getsize(data) // 2)
        f.write(orig)
    res = kw(["pull", ref, "--plain-http", "-q", "--json"], home2, timeout=60)
    rc, _, _, doc = res
    ok = rc == 0 and isinstance(doc, dict) and os.path.isfile(doc.get("path", ""))
    check("8 pull after repairing the registry succeeds, same bytes",
          ok and sha256_file(doc["path"]) == small_sha, show(res))


# ---- 9. rm --------------------------------------------------------------------

def freed_of(doc):
    if isinstance(doc, dict):
        for k, v in doc.items():
            if "freed" in k and isinstance(v, int):
                return v
    return None


def s9_rm(c):
    home = c.home("rm")
    dref = f"{c.A}/models/smollm2@{c.manifest}"
    res1 = kw(["pull", c.ref_a, "--plain-http", "-q", "--json"], home, c.creds)
    res2 = kw(["pull", dref, "--plain-http", "-q", "--json"], home, c.creds)
    check("9 pull by tag then by digest into one store", res1[0] == 0 and res2[0] == 0,
          show(res1) + " / " + show(res2))
    doc = res2[3]
    if isinstance(doc, dict):
        check("9 second pull of the same blobs moves < 1 MiB",
              doc.get("bytes_moved", 1 << 30) < (1 << 20)
              and all(b.get("action") == "present" for b in doc.get("blobs", [])),
              f"doc={doc}")
    before = dir_bytes(os.path.join(home, "blobs"))
    res = kw(["rm", c.ref_a, "--json"], home)
    check("9 rm tag exits 0", res[0] == 0, show(res))
    check("9 layer kept while the digest name still uses it",
          c.model_sha in " ".join(blob_files(home)) and stored_entry(home, dref) is not None
          and stored_entry(home, c.ref_a) is None, f"models={stored_models(home)}")
    res = kw(["rm", dref, "--json"], home)
    check("9 rm last name exits 0", res[0] == 0, show(res))
    check("9 blobs/ empty after removing the last name", blob_files(home) == [],
          f"blobs={blob_files(home)}")
    check("9 `kaiwu models` empty", stored_models(home) == [], f"models={stored_models(home)}")
    freed = freed_of(res[3])
    if freed is not None:
        check("9 rm JSON reports the freed bytes", freed == before,
              f"freed={freed} blobs before={before}")
    else:
        info(f"9 rm --json printed no 'freed' field: {res[1].strip()!r}")
    res = kw(["rm", c.ref_a], home)
    check("9 rm of an absent name exits 1 with a message",
          res[0] == 1 and res[2].strip().startswith("kaiwu:"), show(res))


# ---- 10. hostile references -----------------------------------------------------

def s10_hostile(c):
    box = os.path.join(c.tmp, "sandbox")
    cwd = os.path.join(box, "cwd")
    home = os.path.join(box, "home")
    os.makedirs(cwd)
    A = c.A
    refs = [
        f"{A}/../../etc:x",
        f"{A}/models/../../../etc:x",
        f"{A}/models/..:x",
        f"{A}/Models/SmolLM2:q4_1",
        f"{A}/models/smollm2:" + "t" * 129,
        f"{A}/models/smollm2@sha256:zz",
        f"{A}/models/smollm2@sha256:" + "0" * 63,
        f"{A}/models/smollm2@sha256:" + "A" * 64,
        f"{A}/models/smollm2:a/b",
        f"{A}/models/smollm2:../../x",
        f"{A}/models/smollm2:-x",
        f"{A}//models:x",
        f"{A}/models/.hidden:x",
        f"{A}/models/smollm2:q4_1\nX",
        f"http://{A}/models/smollm2:q4_1",
        f"{A}/" + "a/" * 150 + "x:y",
        "",
        "/etc/passwd",
        "../../etc:x",
    ]
    small = os.path.join(c.tmp, "hostile.gguf")   # never upload 100 MB here
    write_small_gguf(small, 1 << 10)
    bad, codes = [], []
    for ref in refs:
        for args in (["pull", ref], ["push", small, ref]):
            res = kw(args + ["--plain-http", "-q"], home, c.creds, timeout=30, cwd=cwd)
            rc, _, err, _ = res
            codes.append(str(rc))
            if rc not in (1, 2) or not err.strip().startswith("kaiwu:"):
                bad.append(f"{args[0]} {ref[:60]!r}: {show(res)}")
    info("10 exit codes (pull,push per ref): " + " ".join(
        f"{codes[i]},{codes[i + 1]}" for i in range(0, len(codes), 2)))
    check(f"10 {len(refs)} hostile refs x pull/push: exit 1 or 2 with a kaiwu: message",
          not bad, "; ".join(bad[:4]))
    outside = sorted(set(os.listdir(box)) - {"cwd", "home"}) + os.listdir(cwd)
    check("10 nothing created outside KAIWU_HOME", not outside, f"found {outside}")
    escaped = []
    root = os.path.realpath(home)
    for d, dirs, files in os.walk(home):
        for n in dirs + files:
            p = os.path.join(d, n)
            if os.path.islink(p) or not os.path.realpath(p).startswith(root + os.sep):
                escaped.append(p)
    check("10 no link or escape inside KAIWU_HOME", not escaped, f"{escaped[:5]}")
    check("10 no names stored", not (stored_models(home) or []) if os.path.isdir(home) else True,
          f"models={stored_models(home)}")
    check("10 no /tmp/etc or ../etc created",
          not os.path.exists(os.path.join(c.tmp, "etc"))
          and not os.path.exists(os.path.join(box, "etc")))


def main():
    missing = tools_missing()
    if not os.path.isfile(MODEL):
        missing.append(MODEL)
    rc = preflight(missing)
    if rc is not None:
        return rc

    def body(tmp):
        with Registries() as regs:
            info(f"registries A={regs.a.host} (auth) B={regs.b.host} (cache of A) "
                 f"C={regs.c.host}")
            c = Ctx(regs, tmp, MODEL)
            for fn in (s1_push, s2_auth, s3_pull, s4_digest, s5_cache, s6_mirror,
                       s7_resume, s8_corrupt, s9_rm, s10_hostile):
                t0 = time.time()
                guarded(fn, c)   # a broken scenario must not hide the others
                info(f"{fn.__name__} took {time.time() - t0:.1f} s")
            if fails:
                regs.print_logs()
    return run_tests("kw-regtest-", body)


if __name__ == "__main__":
    sys.exit(main())
