"""Loopback OCI registries for kaiwu's registry tests and benchmark.

Starts Debian's docker-registry (CNCF Distribution 2.8) processes on free
127.0.0.1 ports, everything under one temp dir:
  region A  htpasswd auth (bcrypt)           Registries(auth=True)
  region B  pull-through cache of A          Registries(proxy=True)
  region C  plain, no auth                   always
Distribution 2.8's proxy only sends upstream credentials to *token* auth
realms, never Basic, so B cannot log in to an htpasswd A. B therefore
fills from "A0", a second, auth-less registry process serving A's very
storage on its own loopback port (A's internal back door): what B caches is
exactly what was pushed to A, and clients of B need no credentials.
Entry point: `with Registries() as r: r.a.host, r.c.blob_file(digest) ...`;
the context manager kills every process and removes the temp dir, and
prints the registries' log tails when the block raised. Registry(token=)
is token_server.py's token-auth registry. Also holds the helpers the tests
and bench/registry_pull.py share (run_kaiwu, sha256_file, write_small_gguf,
oras_push) and the tests' frame (check, info, kw, preflight, run_tests).
`python3 registries.py` serves until ^C.
"""
import base64, ctypes, hashlib, json, os, shutil, signal, socket, struct
import subprocess
import sys, tempfile, time, traceback
import urllib.error, urllib.request

REGISTRY_BIN = "/usr/bin/docker-registry"
HTPASSWD_BIN = "/usr/bin/htpasswd"
USER = "kwuser"
PASSWORD = "kw-s3cret-Pa55"


def tools_missing(auth=True):
    """Names of the programs these registries need that are not installed."""
    need = [REGISTRY_BIN] + ([HTPASSWD_BIN] if auth else [])
    return [p for p in need if not os.access(p, os.X_OK)]


def _die_with_parent():
    """In the child before exec: SIGKILL it when the test process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """One docker-registry process; host is "127.0.0.1:PORT"."""

    def __init__(self, name, root, auth=None, proxy=None, storage=None,
                 token=None):
        self.name = name
        self.dir = os.path.join(root, name)
        self.storage = storage or os.path.join(self.dir, "storage")
        self.log = os.path.join(self.dir, "registry.log")
        self.auth = auth      # (user, password) or None
        self.proxy = proxy    # (remote url, (user, password) or None) or None
        self.token = token    # a token_server.TokenServer or None
        self.proc = None
        os.makedirs(self.dir)
        os.makedirs(self.storage, exist_ok=True)
        self.htpasswd = None
        if auth:
            self.htpasswd = os.path.join(self.dir, "htpasswd")
            out = subprocess.run([HTPASSWD_BIN, "-Bbn", auth[0], auth[1]],
                                 check=True, capture_output=True, text=True)
            with open(self.htpasswd, "w") as f:
                f.write(out.stdout)
        self.config = os.path.join(self.dir, "config.yml")
        self._configure(free_port())

    def _configure(self, port):
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.url = f"http://{self.host}"
        lines = [
            "version: 0.1",
            "log:",
            # token rejections are logged at info
            "  level: " + ("info" if self.token else "warn"),
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{port}",
            f"  secret: kaiwu-test-{self.name}",
        ]
        if self.htpasswd:
            lines += ["auth:", "  htpasswd:", f"    realm: kaiwu-{self.name}",
                      f"    path: {self.htpasswd}"]
        if self.proxy:
            lines += ["proxy:", f"  remoteurl: {self.proxy[0]}"]
            if self.proxy[1]:
                lines += [f"  username: {self.proxy[1][0]}",
                          f"  password: {self.proxy[1][1]}"]
        if self.token:
            t = self.token
            lines += ["auth:", "  token:", f"    realm: {t.realm}",
                      f"    service: {t.service}", f"    issuer: {t.issuer}",
                      f"    rootcertbundle: {t.cert_path}"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        logf = open(self.log, "ab")
        # Own process group, so stop() kills it and nothing else; and it dies
        # with us even when we are killed (CTest timeout) and cannot clean up.
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", self.config],
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True,
                                     preexec_fn=_die_with_parent)
        logf.close()

    def wait_ready(self, timeout=15.0, retries=3):
        want = 401 if self.auth or self.token else 200
        end = time.time() + timeout
        last = None
        while time.time() < end:
            if self.proc.poll() is not None:
                if retries > 0 and "address already in use" in self.log_tail():
                    # another process took the free port since we picked it
                    retries -= 1
                    self._configure(free_port())
                    self.start()
                    continue
                raise RuntimeError(f"registry {self.name} exited with "
                                   f"{self.proc.returncode}\n{self.log_tail()}")
            code = self.request("/v2/", creds=False, timeout=2)[0]
            if code == want:
                return
            last = code
            time.sleep(0.05)
        raise RuntimeError(f"registry {self.name} not ready on {self.host} "
                           f"(last answer {last})\n{self.log_tail()}")

    def request(self, path, token=None, method="GET", accept=None, creds=True,
                timeout=30):
        """(status, headers, body), status None when unreachable. Sends the
        Bearer token if given, else this registry's Basic credentials if
        any (and creds)."""
        req = urllib.request.Request(self.url + path, method=method)
        if accept:
            req.add_header("Accept", accept)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        elif creds and self.auth:
            tok = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode())
            req.add_header("Authorization", "Basic " + tok.decode())
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()
        except (urllib.error.URLError, OSError):
            return None, {}, b""

    def manifest_digest(self, repo, tag):
        """Docker-Content-Digest of repo:tag, or None."""
        accept = ("application/vnd.oci.image.manifest.v1+json,"
                  "application/vnd.docker.distribution.manifest.v2+json")
        st, hdr, _ = self.request(f"/v2/{repo}/manifests/{tag}", accept=accept)
        if st != 200:
            return None
        for k, v in hdr.items():
            if k.lower() == "docker-content-digest":
                return v
        return None

    def blob_file(self, digest):
        """Path of a blob's data file in this registry's storage."""
        hexd = digest.split(":", 1)[-1]
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs",
                            "sha256", hexd[:2], hexd, "data")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def log_tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


class Registries:
    """Context manager for the regions: .c always, .a with auth=True,
    .b (cache of A) with proxy=True (implies auth). A subclass replaces
    _start to run other servers (token_server.TokenAuth)."""

    def __init__(self, auth=True, proxy=True, user=USER, password=PASSWORD,
                 keep=False):
        self.user, self.password = user, password
        self.want_auth = auth or proxy
        self.want_proxy = proxy
        self.keep = keep
        self.tmp = None
        self.a = self.a0 = self.b = self.c = None
        self.all = []

    def __enter__(self):
        # SIGTERM (e.g. from a test driver) unwinds through __exit__ too.
        self.old_term = None
        try:
            self.old_term = signal.signal(signal.SIGTERM, _terminated)
        except ValueError:   # not the main thread
            pass
        self.tmp = tempfile.mkdtemp(prefix="kw-registries-")
        try:
            self._start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _start(self):
        """Creates the registries (into self.all) and waits until they answer."""
        if self.want_auth:
            self.a = Registry("A", self.tmp, auth=(self.user, self.password))
            self.all.append(self.a)
        if self.want_proxy:
            self.a0 = Registry("A0", self.tmp, storage=self.a.storage)
            self.all.append(self.a0)
            self.b = Registry("B", self.tmp, proxy=(self.a0.url, None))
            self.all.append(self.b)
        self.c = Registry("C", self.tmp)
        self.all.append(self.c)
        # B pings its upstream when it starts (and panics if that is
        # not up yet), so B starts only once A0 answers.
        for r in self.all:
            if r is not self.b:
                r.start()
        for r in self.all:
            if r is not self.b:
                r.wait_ready()
        if self.b:
            self.b.start()
            self.b.wait_ready()

    def __exit__(self, etype, evalue, tb):
        if etype is not None and etype not in (KeyboardInterrupt, SystemExit):
            self.print_logs()
        for r in self.all:
            r.stop()
        if self.tmp and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self.old_term is not None:
            signal.signal(signal.SIGTERM, self.old_term)
        return False

    def serve(self, *lines):
        """Manual use: prints lines, then serves until ^C."""
        print("\n".join(lines), flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass

    def print_logs(self):
        for r in self.all:
            tail = r.log_tail()
            if tail:
                sys.stderr.write(f"--- registry {r.name} ({r.host}) log tail ---\n"
                                 f"{tail}\n")


# ---- helpers shared by the tests and the benchmark ------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def clean_env(home, creds=None):
    """Environment for one kaiwu run: KAIWU_HOME=home, no inherited registry
    settings; creds (user, password) sets KAIWU_REGISTRY_USER/PASSWORD."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KAIWU_") and k != "REGISTRY_AUTH_FILE"}
    env["KAIWU_HOME"] = home
    if creds:
        env["KAIWU_REGISTRY_USER"], env["KAIWU_REGISTRY_PASSWORD"] = creds
    return env


def run_kaiwu(kaiwu, args, home, creds=None, timeout=180, cwd=None,
              env_extra=None):
    """Runs kaiwu; returns (rc, stdout, stderr, parsed --json or None).
    rc is None when it did not finish within timeout. env_extra: more
    environment on top of clean_env's."""
    env = clean_env(home, creds)
    env.update(env_extra or {})
    try:
        p = subprocess.run([kaiwu] + args, env=env, cwd=cwd,
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, out, err + f"\n[timed out after {timeout} s]", None
    doc = None
    if "--json" in args and p.stdout.strip():
        try:
            doc = json.loads(p.stdout)
        except ValueError:
            doc = None
    return p.returncode, p.stdout, p.stderr, doc


def write_small_gguf(path, n_floats=1 << 19):
    """A valid GGUF v3 with random content: 2 KV pairs, one F32 tensor."""
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    hdr = b"GGUF" + struct.pack("<IQQ", 3, 1, 2)
    hdr += s("general.architecture") + struct.pack("<I", 8) + s("kwtest")
    hdr += s("general.name") + struct.pack("<I", 8) + s("corrupt-" + os.urandom(8).hex())
    hdr += s("t") + struct.pack("<IQIQ", 1, n_floats, 0, 0)
    hdr += b"\0" * ((-len(hdr)) % 32)
    with open(path, "wb") as f:
        f.write(hdr + os.urandom(4 * n_floats))



def oras_push(host, target, paths, annotations=None):
    """Pushes files (a list of paths in one folder) with the oras SDK as an
    artifact to http://host/target; oras names each layer by its file name."""
    import oras.client
    cl = oras.client.OrasClient(hostname=host, insecure=True)
    cwd = os.getcwd()
    os.chdir(os.path.dirname(os.path.abspath(paths[0])))
    try:
        kw = {}
        if annotations:
            kw["manifest_annotations"] = annotations
        return cl.push(target=f"{host}/{target}",
                       files=[os.path.basename(p) for p in paths],
                       quiet=True, **kw)
    finally:
        os.chdir(cwd)


# ---- the test scripts' frame: PASS/FAIL lines, exit 0, 1 or 77 ------------

MODEL = os.path.join(os.environ.get("KW_MODELS_DIR", "models"),
                     "SmolLM2-135M-Instruct.Q4_1.gguf")
KAIWU = os.path.abspath(os.environ.get("KW_BIN", "build/kaiwu"))
REQUIRE = os.environ.get("KW_REQUIRE_MODELS") == "1"
fails = []
passes = 0
outputs = []   # stdout+stderr of every kw() run, for "no secrets" checks


def check(name, ok, detail=""):
    global passes
    if ok:
        passes += 1
        print(f"PASS {name}", flush=True)
    else:
        fails.append(name)
        print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def info(msg):
    print(f"INFO {msg}", flush=True)


def show(res):
    """A run of kw(), for a FAIL line."""
    rc, out, err, _ = res
    return f"rc={rc} stdout={out.strip()[-600:]!r} stderr={err.strip()[-800:]!r}"


def kw(args, home, creds=None, timeout=180, cwd=None, env_extra=None):
    """run_kaiwu with the CLI under test ($KW_BIN)."""
    res = run_kaiwu(KAIWU, args, home, creds, timeout, cwd, env_extra)
    outputs.append(res[1] + res[2])
    return res


def stored_models(home):
    """Parsed `kaiwu models --json` of the store at home (a list), or None."""
    res = kw(["models", "--json"], home)
    if res[0] != 0 or not isinstance(res[3], list):
        info(f"kaiwu models --json: {show(res)}")
        return None
    return res[3]


def stored_entry(home, name):
    for e in stored_models(home) or []:
        if e.get("name") == name:
            return e
    return None


def preflight(missing):
    """The exit code when the test cannot run (missing: what is not
    installed; 77 skips unless KW_REQUIRE_MODELS=1), else None."""
    if missing:
        print(f"missing: {', '.join(missing)}")
        return 1 if REQUIRE else 77
    if not os.access(KAIWU, os.X_OK):
        print(f"FAIL kaiwu CLI not found at {KAIWU} (set KW_BIN)")
        return 1
    return None


def guarded(fn, *args):
    """Runs one scenario; an exception is one FAIL, not the end of the test."""
    try:
        return fn(*args)
    except Exception as e:
        traceback.print_exc()
        check(f"{fn.__name__} raised {type(e).__name__}", False, str(e))
        return None


def run_tests(prefix, body):
    """body(tmp) with a fresh temp dir, then the summary; the exit code."""
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passes} passed, {len(fails)} failed in {time.time() - t0:.1f} s")
    return 1 if fails else 0


if __name__ == "__main__":
    # Manual use: python3 registries.py  -> prints the hosts, serves until ^C.
    with Registries() as regs:
        regs.serve(f"A (auth {regs.user}:{regs.password}) {regs.a.host}",
                   f"B (cache of A) {regs.b.host}", f"C (plain) {regs.c.host}",
                   f"storage under {regs.tmp}")
