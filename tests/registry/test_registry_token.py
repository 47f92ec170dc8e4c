#!/usr/bin/env python3
"""kaiwu push / pull through the registry *token* flow: a real docker-registry
(Distribution 2.8) with `auth: token:` and the test token service of
token_server.py (Basic credentials in, RS256 JWT with an x5c chain out).
Checks the setup itself first (challenge, token, tampered tokens), then kaiwu:
push, pull, wrong / missing credentials, auth files, "access_token" answers,
a token service that answers without a token, a token that grants too little,
and that no output ever holds the password or a token. Every check prints
one PASS/FAIL line; exit 0 all passed, 1 some failed, 77 skipped (registry or
python cryptography missing and KW_REQUIRE_MODELS unset).
"""
import base64, functools, json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registries  # noqa: E402
from registries import (KAIWU, check, fails, guarded, info,  # noqa: E402
                        outputs, preflight, run_tests, sha256_file, show,
                        tools_missing, write_small_gguf)
from token_server import TokenAuth, b64url_json, crypto_missing  # noqa: E402

BAD_PASSWORD = "Wr0ng-T0ken-pa55-XYZZY"
kw = functools.partial(registries.kw, timeout=60)


def names_in(home):
    """Files under HOME/names: what a failed pull must not have created."""
    found = []
    for d, _, files in os.walk(os.path.join(home, "names")):
        found += files
    return found


# ---- 0. the setup itself ----------------------------------------------------

def s0_setup(t):
    reg, srv = t.registry, t.server
    st, hdr, _ = reg.request("/v2/")
    ch = {k.lower(): v for k, v in hdr.items()}.get("www-authenticate", "")
    check("0 registry answers /v2/ with a Bearer challenge naming the realm",
          st == 401 and ch.startswith("Bearer ") and srv.realm in ch
          and srv.service in ch, f"status={st} challenge={ch!r}")
    st, doc = srv.fetch("repository:probe/x:pull", (t.user, t.password))
    tok = (doc or {}).get("token")
    check("0 token service gives a token for good credentials", st == 200 and tok,
          f"status={st}")
    check("0 token service answers 401 to a wrong password",
          srv.fetch("repository:probe/x:pull", (t.user, BAD_PASSWORD))[0] == 401)
    check("0 token service answers 401 without credentials",
          srv.fetch("repository:probe/x:pull")[0] == 401)
    if not tok:
        return False
    check("0 registry accepts the token (/v2/ 200)", reg.request("/v2/", tok)[0] == 200)
    st, _, _ = reg.request("/v2/probe/x/tags/list", tok)
    check("0 token grants the scope it names (tags/list not 401)", st in (200, 404),
          f"status={st}")
    head, claims, sig = tok.split(".")
    bad_sig = sig[:-6] + ("AAAAAA" if not sig.endswith("AAAAAA") else "BBBBBB")
    check("0 registry rejects a token with a broken signature",
          reg.request("/v2/", f"{head}.{claims}.{bad_sig}")[0] == 401)
    body = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    body["aud"] = "some-other-service"
    check("0 registry rejects a well-signed token for another audience",
          reg.request("/v2/", srv.sign(body))[0] == 401)
    hdr0 = {"typ": "JWT", "alg": "RS256"}   # no x5c, no kid: no trusted key
    check("0 registry rejects a token without x5c or kid",
          reg.request("/v2/", f"{b64url_json(hdr0)}.{claims}.{sig}")[0] == 401)
    return True


# ---- 1. kaiwu ------------------------------------------------------------------

def s1_kaiwu(t, tmp, model):
    reg, srv = t.registry, t.server
    creds = (t.user, t.password)
    model_sha = sha256_file(model)
    ref = f"{reg.host}/models/tiny:v1"
    homes = iter(range(1, 100))

    def home(tag):
        return os.path.join(tmp, f"home{next(homes)}-{tag}")

    def pulled_ok(name, res):
        rc, _, _, doc = res
        if not check(f"{name}: exit 0 with JSON", rc == 0 and isinstance(doc, dict),
                     show(res)):
            return False
        path = doc.get("path", "")
        return check(f"{name}: file identical", os.path.isfile(path)
                     and sha256_file(path) == model_sha, f"path={path!r}")

    # push with good credentials
    n0 = len(srv.requests)
    push_home = home("push")
    res = kw(["push", model, ref, "--plain-http", "--json", "-q"], push_home, creds)
    rc, _, _, doc = res
    pushed = check("1 push with good credentials exits 0 with JSON",
                   rc == 0 and isinstance(doc, dict), show(res))
    reqs = srv.requests[n0:]
    check("1 push fetched a token with push access to models/tiny",
          any(r["status"] == 200 and any(s.startswith("repository:models/tiny:")
                                         and "push" in s for s in r["scopes"])
              for r in reqs), f"token requests={reqs}")
    if pushed:
        st, doc2 = srv.fetch("repository:models/tiny:pull", creds)
        _, hdr, _ = reg.request("/v2/models/tiny/manifests/v1", (doc2 or {}).get("token"),
                                accept="application/vnd.oci.image.manifest.v1+json")
        on_reg = {k.lower(): v for k, v in hdr.items()}.get("docker-content-digest")
        check("1 push JSON digest is the registry's manifest digest",
              doc.get("digest") == on_reg, f"json={doc.get('digest')} registry={on_reg}")
    else:
        info("push failed; the pull checks below will fail too")

    info(f"push made {len(reqs)} token request(s)")

    # pull into a fresh store; one token serves every request of the pull
    n0 = len(srv.requests)
    pulled_ok("1 pull into a fresh KAIWU_HOME",
              kw(["pull", ref, "--plain-http", "--json", "-q"], home("pull"), creds))
    n = len(srv.requests) - n0
    check("1 pull reuses its token (at most 2 token requests)", 1 <= n <= 2,
          f"{n} token requests")

    # wrong password, no credentials
    n0 = len(srv.requests)
    h = home("wrongpw")
    res = kw(["pull", ref, "--plain-http", "--json", "-q"], h, (t.user, BAD_PASSWORD))
    rc, out, err, _ = res
    check("1 pull with a wrong password exits 1", rc == 1, show(res))
    check("1 wrong password: stderr says authentication",
          "authentication" in err.lower(), show(res))
    check("1 wrong password: password not echoed",
          BAD_PASSWORD not in out + err, show(res))
    check("1 wrong password: the token service saw the bad login (401)",
          any(r["status"] == 401 for r in srv.requests[n0:]),
          f"requests={srv.requests[n0:]}")
    check("1 wrong password: no name stored", not names_in(h), names_in(h))

    h = home("nocreds")
    res = kw(["pull", ref, "--plain-http", "--json", "-q"], h)
    rc, out, err, _ = res
    check("1 pull without credentials exits 1", rc == 1, show(res))
    check("1 no credentials: stderr says authentication",
          "authentication" in err.lower(), show(res))
    check("1 no credentials: no name stored", not names_in(h), names_in(h))

    res = kw(["push", model, f"{reg.host}/models/denied:v1", "--plain-http", "-q"],
             home("pushwrong"), (t.user, BAD_PASSWORD))
    check("1 push with a wrong password exits 1 saying authentication",
          res[0] == 1 and "authentication" in res[2].lower(), show(res))

    # Docker-style auth files instead of the environment
    auth = os.path.join(tmp, "auth.json")
    b64 = base64.b64encode(f"{t.user}:{t.password}".encode()).decode()
    with open(auth, "w") as f:
        json.dump({"auths": {reg.host: {"auth": b64}}}, f)
    pulled_ok("1 pull with --auth-file",
              kw(["pull", ref, "--plain-http", "--auth-file", auth, "--json", "-q"],
                 home("authfile")))
    pulled_ok("1 pull with REGISTRY_AUTH_FILE",
              kw(["pull", ref, "--plain-http", "--json", "-q"], home("authenv"),
                 env_extra={"REGISTRY_AUTH_FILE": auth}))
    wrong = os.path.join(tmp, "auth-wrong.json")
    with open(wrong, "w") as f:
        b64w = base64.b64encode(f"{t.user}:{BAD_PASSWORD}".encode()).decode()
        json.dump({"auths": {reg.host: {"auth": b64w}}}, f)
    res = kw(["pull", ref, "--plain-http", "--auth-file", wrong, "--json", "-q"],
             home("authwrong"))
    check("1 pull with a wrong --auth-file exits 1 saying authentication",
          res[0] == 1 and "authentication" in res[2].lower()
          and BAD_PASSWORD not in res[1] + res[2], show(res))

    # a token service that names its token "access_token" (OAuth2 style)
    srv.token_field = "access_token"
    try:
        pulled_ok("1 pull with an access_token answer",
                  kw(["pull", ref, "--plain-http", "--json", "-q"], home("oauth"), creds))
    finally:
        srv.token_field = "token"

    # a token service that answers 200 without a token
    srv.broken = True
    try:
        res = kw(["pull", ref, "--plain-http", "--json", "-q"], home("broken"), creds)
        check("1 token service without a token: exit 1 naming the token",
              res[0] == 1 and "token" in res[2].lower(), show(res))
    finally:
        srv.broken = False

    # a token that grants pull but not push: push must fail, not loop
    srv.grant = lambda user, typ, name, want: [a for a in want if a == "pull"]
    try:
        n0 = len(srv.requests)
        t0 = time.time()
        res = kw(["push", model, f"{reg.host}/models/readonly:v1", "--plain-http",
                  "-q"], home("readonly"), creds, timeout=30)
        check("1 push with a pull-only token exits 1", res[0] == 1, show(res))
        check("1 pull-only token: stderr explains (authentication / denied)",
              any(w in res[2].lower() for w in ("authentication", "denied")), show(res))
        n = len(srv.requests) - n0
        check("1 pull-only token: a bounded number of token requests",
              n <= 8, f"{n} token requests in {time.time() - t0:.1f} s")
    finally:
        srv.grant = None

    # a second repository of the same registry: the layer is mounted (the
    # mount needs a token for both repositories)
    res = kw(["push", model, f"{reg.host}/other/tiny:v1", "--plain-http", "--json",
              "-q"], push_home, creds)
    rc, _, _, doc = res
    if check("1 push to a second repository exits 0", rc == 0 and isinstance(doc, dict),
             show(res)):
        size = os.path.getsize(model)
        layer = [b for b in doc.get("blobs", []) if b.get("size") == size]
        check("1 push to a second repository mounts the layer",
              layer and layer[0].get("action") == "mounted", f"blobs={doc.get('blobs')}")
    pulled_ok("1 pull from the second repository",
              kw(["pull", f"{reg.host}/other/tiny:v1", "--plain-http", "--json", "-q"],
                 home("pull2"), creds))

    leaked = [o for o in outputs if t.password in o or BAD_PASSWORD in o
              or any(tok in o for tok in srv.tokens)]
    check("1 no kaiwu output holds a password or a token", not leaked,
          repr(leaked[:1])[:400])


def main():
    rc = preflight(tools_missing(auth=False) + [m for m in [crypto_missing()] if m])
    if rc is not None:
        return rc

    def body(tmp):
        model = os.path.join(tmp, "tiny.gguf")
        write_small_gguf(model, n_floats=1 << 18)   # ~1 MiB
        with TokenAuth() as t:
            info(f"registry {t.registry.host} (token auth), realm {t.server.realm}")
            ok = s0_setup(t)
            p = subprocess.run([KAIWU, "push", "--help"], capture_output=True,
                               text=True, stdin=subprocess.DEVNULL)
            if check("kaiwu has a push command", p.returncode == 0,
                     (p.stdout + p.stderr).strip()[:200]) and ok:
                guarded(s1_kaiwu, t, tmp, model)
            if fails:
                t.print_logs()
    return run_tests("kw-tokentest-", body)


if __name__ == "__main__":
    sys.exit(main())
