#!/usr/bin/env python3
"""`kaiwu serve` against a hostile client: 200+ bad requests over raw sockets
and http.client (malformed request lines, truncated HTTP, garbage bytes,
oversized bodies, invalid UTF-8, deep nesting, wrong types, unknown fields,
bad max_tokens / n / roles, huge strings, wrong methods and paths,
disconnects mid-stream) while a few slowloris connections drip header bytes.
Every ~20 bad requests a correct greedy request must still return the same
text; at the end no slot is busy, the queue is empty, the process is alive
and exits 0 on SIGTERM. Server: --parallel 2 --ctx 512 --body-max 65536."""
import json
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server, need_serve, status_of  # noqa: E402

MODEL = need_serve()
BODY_MAX = 65536
CTX = 512
CHAT = "/v1/chat/completions"
GOOD = {"messages": [{"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 8, "temperature": 0}
MSG = [{"role": "user", "content": "Hi"}]
LONG = "List the numbers from 1 to 300, separated by commas."  # greedy: 400+ tokens

failures = []
counts = {"bad": 0, "good": 0}


def fail(name, msg):
    failures.append("%s: %s" % (name, msg))
    print("FAIL %s: %s" % (name, msg), flush=True)


class Hostile:
    def __init__(self, srv):
        self.srv = srv
        self.reference = None
        self.since_good = 0

    # ---- the correct request interleaved with the bad ones ---------------
    def good(self):
        counts["good"] += 1
        try:
            r = self.srv.post(CHAT, GOOD, timeout=60)
        except Exception as e:  # noqa: BLE001
            fail("good request #%d" % counts["good"], "transport error %r" % e)
            return
        if r.status != 200:
            fail("good request #%d" % counts["good"], "%r" % r)
            return
        text = r.json()["choices"][0]["message"]["content"]
        if self.reference is None:
            self.reference = text
        elif text != self.reference:
            fail("good request #%d" % counts["good"],
                 "text %r differs from the first %r" % (text, self.reference))

    def tick(self):
        counts["bad"] += 1
        self.since_good += 1
        if self.since_good >= 20:
            self.since_good = 0
            self.good()
        if not self.srv.alive():
            raise SystemExit("server died:\n" + self.srv.log_tail())

    # ---- bad requests -----------------------------------------------------
    def raw(self, name, data, expect=None, half_close=True, timeout=5, lenient=False,
            allow_close=True):
        """Raw bytes; the answer must be a close or an HTTP error status
        (expect: the exact status wanted, or a set of allowed ones; lenient:
        any status below 500; allow_close: no answer at all is fine)."""
        try:
            s = socket.create_connection((self.srv.host, self.srv.port), timeout=timeout)
            try:
                try:
                    if data:
                        s.sendall(data)
                    if half_close:
                        s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass  # the server answered early and closed: read what came
                got = b""
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    got += b
            finally:
                s.close()
        except socket.timeout:
            fail(name, "no answer and no close within %ds" % timeout)
            self.tick()
            return
        except (ConnectionResetError, BrokenPipeError, OSError):
            got = b""
        st = status_of(got)
        if not got and not allow_close:
            fail(name, "closed without an answer (want %r)" % (expect,))
        elif got and st is None:
            fail(name, "answer is not HTTP: %r" % got[:120])
        elif expect is not None and st is not None:
            ok = st in expect if isinstance(expect, (set, tuple)) else st == expect
            if not ok:
                fail(name, "status %r, want %r (%r)" % (st, expect, got[:200]))
        elif st is not None and lenient and not (st < 500 or st in (501, 505)):
            fail(name, "status %d (%r)" % (st, got[:200]))
        elif st is not None and not lenient and not (400 <= st < 500 or st in (501, 505)):
            fail(name, "status %d for a malformed request (%r)" % (st, got[:200]))
        self.tick()

    def drop(self, name, data):
        """Sends part of a request and closes at once (truncated HTTP)."""
        try:
            s = socket.create_connection((self.srv.host, self.srv.port), timeout=5)
            s.sendall(data)
            s.close()
        except OSError as e:
            fail(name, "connect/send failed: %r" % e)
        self.tick()

    def api(self, name, body, status=400, path=CHAT, mention=None, method="POST",
            headers=None):
        """An API request that must get `status` with an OpenAI error JSON
        (for 4xx) mentioning `mention` when given."""
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        try:
            r = self.srv.request(method, path, body, headers=h, timeout=60)
        except Exception as e:  # noqa: BLE001
            fail(name, "transport error %r" % e)
            self.tick()
            return None
        want = status if isinstance(status, (set, tuple)) else (status,)
        if r.status not in want:
            fail(name, "status %d, want %s: %r" % (r.status, status, r.body[:300]))
        elif r.status >= 400 and self.srv.kaiwu:
            try:
                err = json.loads(r.body)["error"]
                if not isinstance(err.get("message"), str) or "type" not in err:
                    raise ValueError("no message/type")
                if mention and mention not in err["message"]:
                    fail(name, "error message %r does not mention %r" % (err["message"], mention))
                if not r.headers.get("content-type", "").startswith("application/json"):
                    fail(name, "error content-type %r" % r.headers.get("content-type"))
            except (ValueError, KeyError, TypeError) as e:
                fail(name, "not an OpenAI error JSON (%s): %r" % (e, r.body[:300]))
        self.tick()
        return r

    def stream_and_leave(self, name, body, after_events=2):
        """Starts a stream and closes the socket after a few events."""
        raw = json.dumps(dict(body, stream=True)).encode()
        try:
            s = socket.create_connection((self.srv.host, self.srv.port), timeout=30)
            s.sendall(b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % (CHAT.encode(), len(raw)) + raw)
            got = b""
            while got.count(b"data: ") < after_events:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            s.close()
            if status_of(got) != 200:
                fail(name, "stream answer %r" % got[:200])
        except OSError as e:
            fail(name, "stream failed: %r" % e)
        self.tick()


def slowloris(srv, stop, stats):
    """One connection sending a header byte every 0.2 s until stop."""
    try:
        s = socket.create_connection((srv.host, srv.port), timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        while not stop.is_set():
            s.sendall(b"X-Slow-%d: a\r\n" % random.randint(0, 10**6) if random.random() < 0.1
                      else b"x")
            time.sleep(0.2)
        s.close()
        stats["ok"] += 1
    except OSError as e:  # the server may drop it: fine, but count it
        stats["closed"] += 1
        stats["why"].append(repr(e))


def run_cases(h):
    srv = h.srv
    host = b"Host: 127.0.0.1\r\n"
    body = json.dumps(GOOD).encode()
    post = (b"POST /v1/chat/completions HTTP/1.1\r\n" + host +
            b"Content-Type: application/json\r\n")
    rnd = random.Random(1234)

    # -- malformed request lines and headers (raw) ---------------------------
    # (bytes, lenient): lenient ones are arguably valid, so any status below
    # 500 is fine; the others must get a 4xx (or 501/505) or a close
    lines = [(b"GARBAGE\r\n\r\n", 0), (b"GET\r\n\r\n", 0), (b"GET /\r\n\r\n", 1),
             (b"GET / HTTP/9.9\r\n\r\n", 0), (b"GET / HTTP/1.1 extra\r\n\r\n", 0),
             (b" / HTTP/1.1\r\n\r\n", 0), (b"GET  HTTP/1.1\r\n\r\n", 0),
             (b"GET /health HTTP/1.1\r\n\r\n", 1),  # no Host header in 1.1
             (b"GET /health HTTP/1.1\r\nHost x\r\n\r\n", 1),  # header without colon
             (b"GET /health HTTP/1.1\r\n: novalue\r\n\r\n", 1),
             (b"GET /health HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 1),
             (b"GET /\x00health HTTP/1.1\r\nHost: a\r\n\r\n", 0),
             (b"GET /health\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 1),
             (b"GET /%00 HTTP/1.1\r\nHost: a\r\n\r\n", 1),
             (b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 1),
             (b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 1),
             (b"GET /health HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 100000 + b"\r\n\r\n", 1),
             (b"GET /health HTTP/1.1\r\nHost: a\r\n" + b"X-H: v\r\n" * 3000 + b"\r\n", 1),
             (b"\r\n\r\n\r\n", 0), (b"\n\n\n", 0), (b"GET /health HTTP/1.1\nHost: a\n\n", 1),
             (b"G\xffT / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
             (b"GET /health HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n", 1),
             (post + b"Content-Length: -1\r\n\r\n" + body, 0),
             (post + b"Content-Length: abc\r\n\r\n" + body, 0),
             (post + b"Content-Length: 99999999999999999999999\r\n\r\n" + body, 0),
             (post + b"Content-Length: 10\r\nContent-Length: 20\r\n\r\n" + body, 1),
             (post + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0),
             (post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 0),
             (post + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n", 0),
             (post + b"Transfer-Encoding: gzip\r\n\r\n" + body, 1),
             (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0),
             (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 0),
             (b"GET http://example.com/health HTTP/1.1\r\nHost: example.com\r\n\r\n", 1)]
    for i, (data, lenient) in enumerate(lines):
        h.raw("malformed #%d %r" % (i, data[:40]), data, lenient=lenient)

    # -- garbage bytes ------------------------------------------------------
    for i in range(30):
        n = rnd.choice([1, 7, 64, 500, 4096, 30000])
        h.raw("garbage #%d (%d bytes)" % (i, n), bytes(rnd.getrandbits(8) for _ in range(n)))
    h.raw("tls client hello", bytes.fromhex("16030100a5010000a10303") + os.urandom(160))

    # -- truncated HTTP (client closes early) --------------------------------
    full = post + b"Content-Length: %d\r\n\r\n" % len(body) + body
    for cut in (1, 5, 17, 30, 40, len(post) - 3, len(post) + 5, len(full) - len(body),
                len(full) - len(body) + 1, len(full) - 20, len(full) - 1):
        h.drop("truncated at %d" % cut, full[:cut])
    for cut in (3, 10, 20):
        h.drop("truncated GET at %d" % cut, b"GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n"[:cut])
    # declared body longer than what is sent, then half-close: error or close
    h.raw("short body + half close", post + b"Content-Length: 500\r\n\r\n" + body[:50])

    # -- oversized bodies -----------------------------------------------------
    big = json.dumps({"messages": [{"role": "user", "content": "x" * (BODY_MAX + 10)}]}).encode()
    h.raw("oversized body", post + b"Content-Length: %d\r\n\r\n" % len(big) + big, expect=413,
          allow_close=False)
    huge = json.dumps({"messages": [{"role": "user", "content": "y" * (4 * BODY_MAX)}]}).encode()
    h.raw("4x oversized body", post + b"Content-Length: %d\r\n\r\n" % len(huge) + huge,
          expect=413)
    h.raw("declared 1 GiB body", post + b"Content-Length: 1073741824\r\n\r\n" + body[:100],
          expect=413)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192])
                       for i in range(0, len(big), 8192)) + b"0\r\n\r\n"
    h.raw("oversized chunked body", post + b"Transfer-Encoding: chunked\r\n\r\n" + chunked,
          expect=413)
    for i in range(4):
        h.api("oversized via http.client #%d" % i, big, status=413)

    # -- invalid UTF-8 and malformed JSON -------------------------------------
    bad_utf8 = [b'{"messages":[{"role":"user","content":"\xff"}]}',
                b'{"messages":[{"role":"user","content":"\xc3\x28"}]}',
                b'{"messages":[{"role":"user","content":"\xed\xa0\x80"}]}',  # surrogate
                b'{"messages":[{"role":"user","content":"\xf4\x90\x80\x80"}]}',  # > U+10FFFF
                b'{"messages":[{"role":"user","content":"\xc0\xaf"}]}',  # overlong
                b'{"messages":[{"role":"user","content":"abc\xe2\x82"}]}',  # cut sequence
                b'{"mess\x80ages":[]}', b'\xef\xbb\xbf\xff{}']
    for i, b in enumerate(bad_utf8):
        h.api("invalid utf-8 #%d" % i, b, status=400)
    malformed = [b"", b"{", b"}", b"{]", b"[", b"nul", b"{\"messages\":}",
                 b"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]",
                 b"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}",
                 b"{'messages':[]}", b"{\"messages\":[,]}", b"{\"a\":1,}", b"{\"a\" 1}",
                 b"{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",
                 b"{\"messages\":[{\"role\":\"user\",\"content\":\"\\uZZZZ\"}]}",
                 b"{\"max_tokens\":1e999,\"messages\":[]}", b"\x00\x00\x00",
                 b"{\"messages\":[{\"role\":\"user\",\"content\":\"a\x01b\"}]}",
                 b"NaN", b"{\"temperature\":NaN}", b"{\"temperature\":Infinity}",
                 b"/* c */ {}", b"{\"messages\":[]} trailing", b"123", b"\"str\"", b"null",
                 b"[]", b"true"]
    for i, b in enumerate(malformed):
        h.api("malformed json #%d %r" % (i, b[:30]), b, status=400)
    h.api("nested 10000 [", b"[" * 10000, status=400)
    h.api("nested 10000 {\"a\":", b'{"a":' * 10000, status=400)
    h.api("nested 100 in messages", b'{"messages":' + b"[" * 100 + b"]" * 100 + b"}", status=400)
    h.api("nested in content", json.dumps({"messages": [{"role": "user", "content": "x"}],
                                           "user": "u"}).replace('"u"', "[" * 70 + "]" * 70)
          .encode(), status=400)

    # -- wrong types, unknown fields, bad values ------------------------------
    def chat_with(**kw):
        b = {"messages": MSG, "max_tokens": 2}
        b.update(kw)
        return b
    wrong = [("messages", "hi"), ("messages", 5), ("messages", [1]), ("messages", [[]]),
             ("messages", [{"role": 5, "content": "x"}]),
             ("messages", [{"role": "user", "content": 5}]),
             ("messages", [{"role": "user", "content": [{"type": "image_url",
                                                          "image_url": {"url": "x"}}]}]),
             ("messages", [{"role": "user", "content": [{"type": "text", "text": 5}]}]),
             ("messages", [{"role": "user"}]), ("messages", [{"content": "x"}]),
             ("max_tokens", "5"), ("max_tokens", 1.5), ("max_tokens", True), ("max_tokens", []),
             ("temperature", "hot"), ("temperature", 3), ("temperature", -1),
             ("top_p", "x"), ("top_p", 2), ("top_p", -0.5), ("seed", "x"), ("seed", 1.5),
             ("stream", "yes"), ("stream", 1), ("stop", 5), ("stop", ["a", "b", "c", "d", "e"]),
             ("stop", [1]), ("stop", {"a": 1}), ("logprobs", "yes"), ("top_logprobs", 21),
             ("top_logprobs", -1), ("top_logprobs", "3"),
             ("presence_penalty", 5), ("frequency_penalty", -3), ("frequency_penalty", "x"),
             ("response_format", "json"), ("response_format", {"type": "xml"}),
             ("response_format", {}), ("stream_options", "x"),
             ("stream_options", {"include_usage": "yes"}), ("n", 2), ("n", 0), ("n", "1"),
             ("model", 5), ("user", 5), ("top_k", "x"), ("min_p", "x"),
             ("repeat_penalty", "x"), ("max_completion_tokens", "x")]
    for k, v in wrong:
        h.api("wrong %s=%r" % (k, v), chat_with(**{k: v}), status=400)
    for k in ("foo", "functions", "tools", "Messages", "max-tokens", ""):
        h.api("unknown field %r" % k, chat_with(**{k: 1}), status=400,
              mention=("'%s'" % k) if k else None)
    h.api("missing messages", {"max_tokens": 2}, status=400, mention="messages")
    h.api("empty messages", {"messages": [], "max_tokens": 2}, status=400)
    for role in ("robot", "", "USER", "tool", "function", None):
        h.api("bad role %r" % role, {"messages": [{"role": role, "content": "x"}],
                                     "max_tokens": 2}, status=400)
    for mt in (0, -1, -100, -2**31, -2**63):
        h.api("max_tokens %d" % mt, chat_with(max_tokens=mt), status=400, mention="max_tokens")
        h.api("completions max_tokens %d" % mt, {"prompt": "a", "max_tokens": mt},
              path="/v1/completions", status=400)
    h.api("max_completion_tokens 0", {"messages": MSG, "max_completion_tokens": 0}, status=400)
    # huge max_tokens: clamped to the context, and the greedy answer ends early
    for mt in (10**9, 2**31, 2**31 - 1, 2**40):
        r = h.api("max_tokens %d" % mt, dict(GOOD, max_tokens=mt), status=200)
        if r is not None and r.status == 200 and h.reference is not None:
            t = r.json()["choices"][0]["message"]["content"]
            if not t.startswith(h.reference):
                fail("max_tokens %d" % mt, "text %r does not extend the reference %r"
                     % (t, h.reference))
    h.api("max_tokens 2**70", chat_with(max_tokens=2**70), status=(200, 400))
    # huge strings: a prompt longer than the slot context -> 400, not a crash
    h.api("prompt longer than ctx", {"messages": [{"role": "user", "content": "word " * 6000}],
                                     "max_tokens": 2}, status=400)
    h.api("completions prompt longer than ctx", {"prompt": "word " * 6000, "max_tokens": 2},
          path="/v1/completions", status=400)
    h.api("long role name", {"messages": [{"role": "u" * 50000, "content": "x"}]}, status=400)
    h.api("many messages", {"messages": [{"role": "user", "content": "x"}] * 1500,
                            "max_tokens": 2}, status=400)
    h.api("50k stop string", chat_with(stop=["s" * 50000]), status=(200, 400))
    h.api("long unknown key", chat_with(**{"k" * 40000: 1}), status=400)
    # completions: bad prompts
    for i, p in enumerate(([], [[]], ["a", "b"], 5, None, {"a": 1}, [-1], [10**9], [2**40],
                           [1.5], ["a", 1], [True])):
        h.api("completions prompt #%d %r" % (i, p), {"prompt": p, "max_tokens": 2},
              path="/v1/completions", status=400)
    h.api("completions missing prompt", {"max_tokens": 2}, path="/v1/completions", status=400)
    h.api("completions logprobs 6", {"prompt": "a", "max_tokens": 2, "logprobs": 6},
          path="/v1/completions", status=400)
    h.api("completions n=2", {"prompt": "a", "max_tokens": 2, "n": 2},
          path="/v1/completions", status=400)
    # content types: not JSON at all
    h.api("form body", b"a=1&b=2", status=(400, 415),
          headers={"Content-Type": "application/x-www-form-urlencoded"})

    # -- wrong methods and unknown paths -------------------------------------
    for m, p in (("GET", CHAT), ("PUT", CHAT), ("DELETE", CHAT), ("GET", "/v1/completions"),
                 ("POST", "/v1/models"), ("PUT", "/v1/models"), ("DELETE", "/v1/models"),
                 ("POST", "/health"), ("POST", "/metrics"), ("PATCH", "/"), ("POST", "/"),
                 ("OPTIONS", CHAT), ("OPTIONS", "/v1/models")):
        h.api("%s %s" % (m, p), b"{}" if m in ("POST", "PUT", "PATCH") else None,
              status=405, path=p, method=m)
    for p in ("/v2/chat/completions", "/v1/foo", "/v1", "/v1/", "/index.html", "/favicon.ico",
              "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/v1/chat/completions/x",
              "/v1/models/x/y", "/" + "z" * 5000, "/health/", "/metricsx"):
        h.api("GET %s" % p[:40], None, status=404, path=p, method="GET")
    h.api("POST unknown", {"a": 1}, status=404, path="/v1/embeddings")
    h.raw("unknown method", b"BREW /health HTTP/1.1\r\nHost: a\r\n\r\n",
          expect=(400, 404, 405, 501))
    h.raw("HEAD /health", b"HEAD /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
          expect=(200, 405))

    # -- disconnects mid-stream and before the answer ------------------------
    for i in range(6):
        h.stream_and_leave("leave stream #%d" % i,
                           {"messages": [{"role": "user", "content": LONG}],
                            "max_tokens": 400, "temperature": 0}, after_events=1 + i % 3)
    for i in range(4):
        h.drop("leave before the answer #%d" % i, full)
    h.drop("leave completions stream", b"POST /v1/completions HTTP/1.1\r\n" + host +
           b"Content-Type: application/json\r\nContent-Length: 52\r\n\r\n" +
           b'{"prompt":"Once upon","max_tokens":300,"stream":true}')
    # keep-alive: several bad requests on one connection, then a good one
    c = srv.conn(30)
    try:
        for i in range(5):
            c.request("POST", CHAT, body=b"{bad", headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 400:
                fail("keep-alive bad #%d" % i, "status %d" % r.status)
            h.tick()
        c.request("POST", CHAT, body=json.dumps(GOOD), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status != 200:
            fail("keep-alive good", "status %d %r" % (r.status, data[:200]))
    except Exception as e:  # noqa: BLE001 - the server may close after an error
        print("note: keep-alive after a 400 closed: %r" % e)
    finally:
        c.close()


def main():
    t0 = time.time()
    with Server(["--parallel", "2", "--ctx", str(CTX), "--queue", "8",
                 "--body-max", str(BODY_MAX)]) as srv:
        h = Hostile(srv)
        h.good()
        if h.reference is None:
            raise SystemExit("the first correct request failed: %s" % failures)
        stop = threading.Event()
        stats = {"ok": 0, "closed": 0, "why": []}
        slow = [threading.Thread(target=slowloris, args=(srv, stop, stats)) for _ in range(4)]
        for t in slow:
            t.start()
        time.sleep(0.3)
        try:
            run_cases(h)
            # the slow connections are still open and the server still answers
            t1 = time.time()
            h.good()
            if time.time() - t1 > 10:
                fail("good request during slowloris", "took %.1fs" % (time.time() - t1))
        finally:
            stop.set()
            for t in slow:
                t.join(10)
        print("slowloris: %d kept open to the end, %d dropped by the server %s"
              % (stats["ok"], stats["closed"], stats["why"][:2]))
        # no leaked slot or queue entry
        deadline = time.time() + 5
        while True:
            busy, queued = srv.slots_busy(), srv.queue_depth()
            if busy == 0 and queued == 0:
                break
            if time.time() > deadline:
                fail("after the storm", "slots busy %r, queue %r 5 s later" % (busy, queued))
                break
            time.sleep(0.1)
        h.good()
        if not srv.alive():
            fail("after the storm", "server died:\n" + srv.log_tail())
        if srv.kaiwu:
            m = srv.metrics()
            n400 = sum(v for (n, lab), v in m.items()
                       if n == "kaiwu_requests_total" and 'status="400"' in lab)
            if n400 < 100:
                fail("metrics", "only %d requests counted with status 400" % n400)
    print("%d bad requests, %d correct ones, %.1fs" % (counts["bad"], counts["good"],
                                                       time.time() - t0))
    if counts["bad"] < 200:
        fail("count", "only %d bad requests" % counts["bad"])
    if failures:
        print("%d failures:\n  %s" % (len(failures), "\n  ".join(failures)))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
