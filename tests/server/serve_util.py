"""Shared by tests/server/test_*.py: starts `$KW_BIN serve` on a free port,
waits for GET /health 200, talks raw HTTP/SSE to it, reads /metrics, and
stops it with SIGTERM (exit 0 required). Skip rule: exit 77 when the
binary has no working serve command or the model is missing; a failure
instead when KW_REQUIRE_MODELS=1. KW_SERVE_IMPL=llama-server runs the same
tests against llama.cpp's server (to check the tests themselves)."""
import glob
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SRC = os.environ.get("KW_SOURCE_DIR",
                     os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
KW = os.environ.get("KW_BIN", os.path.join(SRC, "build", "kaiwu"))
MODELS = os.environ.get("KW_MODELS_DIR", os.path.join(SRC, "models"))
REQUIRE = os.environ.get("KW_REQUIRE_MODELS", "") not in ("", "0")
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ID = MODEL_FILE[:-len(".gguf")]
IMPL = os.environ.get("KW_SERVE_IMPL", "kaiwu")  # or "llama-server"


def skip(why, required=True):
    """Skips (77), or fails when models are required and this is one."""
    print("skip: %s" % why, flush=True)
    sys.exit(1 if (REQUIRE and required) else 77)


def llama_server_bin():
    """llama.cpp's llama-server: $KW_LLAMA_SERVER, else the peer build."""
    p = os.environ.get("KW_LLAMA_SERVER")
    if p:
        return p
    hits = sorted(glob.glob(os.path.expanduser(
        "~/.cache/kaiwu-peer/*/vendor/llama.cpp/build/bin/llama-server")))
    return hits[-1] if hits else None


def need_serve():
    """The model path, after checking the binary serves (else skip)."""
    model = os.path.join(MODELS, MODEL_FILE)
    if not os.path.exists(model):
        skip("missing %s (run `make models`)" % model)
    if IMPL == "llama-server":
        b = llama_server_bin()
        if not b or not os.access(b, os.X_OK):
            skip("llama-server not found", required=False)
        return model
    if not os.access(KW, os.X_OK):
        skip("%s: not found" % KW)
    try:
        r = subprocess.run([KW, "serve", "--help"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        skip("%s serve --help: %s" % (KW, e))
    if r.returncode != 0 or b"--port" not in r.stdout + r.stderr:
        skip("%s has no working serve command: %s" % (
            KW, (r.stdout + r.stderr).decode("utf-8", "replace").strip()[:300]))
    return model


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _llama_args(args):
    """Maps kaiwu serve options onto llama-server's (test development only)."""
    opts, i = {}, 0
    while i < len(args):
        opts[args[i]] = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else ""
        i += 2 if opts[args[i]] != "" else 1
    n = int(opts.get("--parallel", "4"))
    ctx = int(opts.get("--ctx", "4096"))
    out = ["-np", str(n), "-c", str(ctx * n), "--metrics", "-kvu",
           "--path", os.path.join(SRC, "server", "webui")]  # serves our page at /
    if "--threads" in opts:
        out += ["-t", opts["--threads"]]
    for k in ("--api-key", "--alias"):
        if k in opts:
            out += [k, opts[k]]
    return out


class HttpResult:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "HTTP %d %r" % (self.status, self.body[:300])


class Server:
    """One `kaiwu serve` process on a free port; use as a context manager."""

    def __init__(self, args=(), model=None, ready_timeout=60):
        self.model = model or os.path.join(MODELS, MODEL_FILE)
        self.args = list(args)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.url = "http://%s:%d" % (self.host, self.port)
        self.base_url = self.url + "/v1"
        self.log = tempfile.TemporaryFile()
        self.kaiwu = IMPL != "llama-server"
        if self.kaiwu:
            cmd = [KW, "serve", "-m", self.model, "--host", self.host,
                   "--port", str(self.port)] + self.args
        else:
            cmd = [llama_server_bin(), "-m", self.model, "--host", self.host,
                   "--port", str(self.port)] + _llama_args(self.args)
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.stopped = False
        deadline = time.time() + ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %d before /health was 200:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                r = self.request("GET", "/health", timeout=2)
                if r.status == 200:
                    break
                if r.status != 503:
                    raise AssertionError("/health answered %r while loading" % r)
            except (OSError, http.client.HTTPException):
                pass
            if time.time() > deadline:
                self.kill()
                raise AssertionError("no /health 200 after %ds:\n%s"
                                     % (ready_timeout, self.log_tail()))
            time.sleep(0.05)

    # ---- lifecycle -----------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.stop()
        else:
            self.kill()
        return False

    def log_tail(self, n=3000):
        self.log.flush()
        self.log.seek(0)
        data = self.log.read().decode("utf-8", "replace")
        return data[-n:]

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=40):
        """SIGTERM; the process must exit 0 within timeout seconds."""
        if self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is not None:
            raise AssertionError("server died earlier with %d:\n%s"
                                 % (self.proc.returncode, self.log_tail()))
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not exit within %ds of SIGTERM:\n%s"
                                 % (timeout, self.log_tail()))
        if rc != 0:
            raise AssertionError("server exited %d after SIGTERM (want 0):\n%s"
                                 % (rc, self.log_tail()))
        self.check_log()

    def check_log(self):
        """Fails on a sanitizer report in the server's output."""
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode("utf-8", "replace")
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer"):
            i = text.find(mark)
            if i >= 0:
                raise AssertionError("sanitizer report in the server output:\n%s"
                                     % text[max(0, i - 200):i + 3000])

    def kill(self):
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # ---- HTTP ----------------------------------------------------------
    def conn(self, timeout=60):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, key=None, timeout=60):
        """One request on a fresh connection; body: bytes, str or a JSON object."""
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if key:
            h["Authorization"] = "Bearer " + key
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return HttpResult(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            c.close()

    def post(self, path, obj, key=None, timeout=120):
        return self.request("POST", path, obj, key=key, timeout=timeout)

    def stream(self, path, obj, key=None, timeout=120):
        """POSTs a stream:true request; returns (HttpResult without body,
        [parsed event objects], saw_done). Checks the SSE framing."""
        o = dict(obj)
        o["stream"] = True
        c = self.conn(timeout)
        try:
            h = {"Content-Type": "application/json"}
            if key:
                h["Authorization"] = "Bearer " + key
            c.request("POST", path, body=json.dumps(o).encode(), headers=h)
            r = c.getresponse()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if r.status != 200:
                return HttpResult(r.status, hdrs, r.read()), [], False
            events, done = [], False
            for ev in sse_events(r):
                if ev == "[DONE]":
                    done = True
                    continue
                if done:
                    raise AssertionError("event after [DONE]: %r" % ev)
                events.append(json.loads(ev))
            return HttpResult(r.status, hdrs, b""), events, done
        finally:
            c.close()

    def greedy_chat(self, content, max_tokens=16, **extra):
        body = {"messages": [{"role": "user", "content": content}],
                "max_tokens": max_tokens, "temperature": 0}
        body.update(extra)
        r = self.post("/v1/chat/completions", body)
        if r.status != 200:
            raise AssertionError("greedy chat request failed: %r" % r)
        return r.json()

    # ---- metrics -------------------------------------------------------
    def metrics(self, key=None):
        r = self.request("GET", "/metrics", key=key, timeout=10)
        if r.status != 200:
            raise AssertionError("/metrics: %r" % r)
        return parse_metrics(r.body.decode("utf-8"))

    def slots_busy(self):
        m = self.metrics()
        if self.kaiwu:
            return metric(m, "kaiwu_slots_busy")
        return metric(m, "llamacpp:requests_processing")

    def queue_depth(self):
        m = self.metrics()
        if self.kaiwu:
            return metric(m, "kaiwu_queue_depth")
        return metric(m, "llamacpp:requests_deferred")


def sse_events(resp):
    """Yields the data payloads of an SSE body read from an http.client
    response (or any object with readline), checking the framing."""
    while True:
        line = resp.readline()
        if not line:
            return
        line = line.rstrip(b"\r\n")
        if not line:
            continue
        if line.startswith(b":"):
            continue  # comment / keep-alive
        if not line.startswith(b"data: "):
            raise AssertionError("SSE line without 'data: ': %r" % line[:200])
        payload = line[6:].decode("utf-8")
        yield payload


_METRIC_RE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def parse_metrics(text):
    """Prometheus text -> {(name, labels string): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC_RE.match(line)
        if not m:
            raise AssertionError("bad metrics line: %r" % line)
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def metric(m, name, **labels):
    """Sum of the samples of name whose labels include the given ones."""
    total, found = 0.0, False
    for (n, lab), v in m.items():
        if n != name:
            continue
        if all('%s="%s"' % (k, v2) in lab for k, v2 in labels.items()):
            total += v
            found = True
    if not found:
        raise AssertionError("metric %s%s missing" % (name, labels or ""))
    return total


def raw_exchange(host, port, data, timeout=10, read=True):
    """Sends raw bytes on a fresh socket; returns what came back until close
    or timeout (b"" when the server just closed)."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        if data:
            s.sendall(data)
        if not read:
            return b""
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def status_of(raw):
    """The status code of a raw HTTP response, or None."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


def tokenize(model, text):
    """Token ids of text via `kaiwu tokenize` (specials parsed, BOS as the
    model's metadata says), the same tokenizer the server must use."""
    r = subprocess.run([KW, "tokenize", "-m", model, "-p", text, "--json"],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("kaiwu tokenize failed: %s" % r.stderr.decode()[-500:])
    return json.loads(r.stdout.decode().strip().splitlines()[-1])["tokens"]


def chatml(messages, add_assistant=True):
    """The chatml rendering of messages (SmolLM2's template, no default
    system prompt, as llama.cpp renders it)."""
    s = "".join("<|im_start|>%s\n%s<|im_end|>\n" % (m["role"], m["content"])
                for m in messages)
    return s + ("<|im_start|>assistant\n" if add_assistant else "")


class Runner:
    """Runs named test functions, keeps going after a failure, prints one
    line per test and the exact failure messages, exits 1 on any failure."""

    def __init__(self, name):
        self.name = name
        self.failed = []
        self.passed = 0
        self.t0 = time.time()

    def run(self, fn, *args):
        t = time.time()
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - report every failure
            self.failed.append(fn.__name__)
            print("FAIL %s (%.1fs): %s: %s" % (fn.__name__, time.time() - t,
                                              type(e).__name__, e), flush=True)
            traceback.print_exc(limit=3)
            return False
        self.passed += 1
        print("ok   %s (%.1fs)" % (fn.__name__, time.time() - t), flush=True)
        return True

    def finish(self):
        print("%s: %d passed, %d failed%s in %.1fs" % (
            self.name, self.passed, len(self.failed),
            (" (" + ", ".join(self.failed) + ")") if self.failed else "",
            time.time() - self.t0), flush=True)
        sys.exit(1 if self.failed else 0)
