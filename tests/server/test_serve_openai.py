#!/usr/bin/env python3
"""`kaiwu serve` end to end with the official `openai` Python client (and raw
HTTP where the client would hide the protocol): chat and completions, plain
and streaming, stop strings, seeds, usage counts, max_tokens, logprobs,
json_object, auth, queue-full 429, disconnect cancellation, 8 concurrent
greedy streams equal to the same requests run alone, /v1/models, /metrics,
/health. Three servers on SmolLM2-135M: the main one (--parallel 8), one
with --api-key and --alias, one with --parallel 1 --queue 1."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import (KW, MODEL_ID, Runner, Server, chatml, metric,  # noqa: E402
                        need_serve, skip, tokenize)

try:
    import openai
except ImportError as e:
    skip("python package missing: %s" % e)

MODEL = need_serve()
CTX = 1024
LONG_PROMPT = "List the numbers from 1 to 300, separated by commas."  # greedy: no EOS for 400+ tokens

S = None        # main server
CLIENT = None   # openai client on S


def client_for(srv, key="none"):
    return openai.OpenAI(base_url=srv.base_url, api_key=key, max_retries=0, timeout=120)


def eq(a, b, what):
    if a != b:
        raise AssertionError("%s: got %r, want %r" % (what, a, b))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def generate_chat(content, n):
    r = subprocess.run([KW, "generate", "-m", MODEL, "--chat", "-p", content, "-n", str(n),
                        "--temp", "0", "--json", "-t", "1"], capture_output=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("kaiwu generate failed: %s" % r.stderr.decode()[-500:])
    return json.loads(r.stdout.decode().strip().splitlines()[-1])["text"]


def chat(content, **kw):
    kw.setdefault("max_tokens", 16)
    kw.setdefault("temperature", 0)
    return CLIENT.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": content}], **kw)


def stream_chat(messages, **kw):
    """Streams; returns (text, chunks list)."""
    kw.setdefault("temperature", 0)
    chunks = list(CLIENT.chat.completions.create(model=MODEL_ID, messages=messages,
                                                 stream=True, **kw))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


# ---- tests on the main server ----------------------------------------------
def test_health():
    r = S.request("GET", "/health")
    eq(r.status, 200, "/health status")
    eq(r.json().get("status"), "ok", "/health body status")


def test_models():
    ms = CLIENT.models.list()
    ids = [m.id for m in ms.data]
    if S.kaiwu:  # llama-server names the model by its path
        check(ids and ids[0] == MODEL_ID, "/v1/models ids %r, want first %r" % (ids, MODEL_ID))
    raw = S.request("GET", "/v1/models").json()
    eq(raw.get("object"), "list", "/v1/models object")
    eq(raw["data"][0].get("object"), "model", "/v1/models data[0].object")
    if S.kaiwu:
        eq(raw["data"][0].get("owned_by"), "kaiwu", "owned_by")
        check(isinstance(raw["data"][0].get("created"), int), "created is not an int")


def test_chat_plain():
    r = chat("What is the capital of France?", max_tokens=24)
    eq(r.object, "chat.completion", "object")
    check(isinstance(r.id, str) and r.id, "empty id")
    eq(len(r.choices), 1, "number of choices")
    c = r.choices[0]
    eq(c.message.role, "assistant", "message.role")
    check(isinstance(c.message.content, str) and c.message.content.strip(),
          "empty content %r" % c.message.content)
    check(c.finish_reason in ("stop", "length"), "finish_reason %r" % c.finish_reason)
    check(r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0,
          "usage %r" % r.usage)
    eq(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens,
       "usage.total_tokens")
    if S.kaiwu:  # the same greedy text as `kaiwu generate --chat`
        eq(c.message.content, generate_chat("What is the capital of France?", 24),
           "greedy server text vs kaiwu generate --chat")
    # a model name that is not ours is still served (like llama-server)
    r2 = CLIENT.chat.completions.create(model="gpt-4o", max_tokens=24, temperature=0,
                                        messages=[{"role": "user",
                                                   "content": "What is the capital of France?"}])
    eq(r2.choices[0].message.content, c.message.content, "greedy text with another model name")


def test_chat_stream():
    msgs = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Name three colours."}]
    plain = CLIENT.chat.completions.create(model=MODEL_ID, messages=msgs, max_tokens=32,
                                           temperature=0)
    text, chunks = stream_chat(msgs, max_tokens=32, stream_options={"include_usage": True})
    check(len(chunks) >= 3, "only %d chunks" % len(chunks))
    eq(chunks[0].object, "chat.completion.chunk", "chunk object")
    eq(chunks[0].choices[0].delta.role, "assistant", "first chunk delta.role")
    eq(text, plain.choices[0].message.content, "streamed text vs non-streamed (greedy)")
    fins = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    eq(fins, [plain.choices[0].finish_reason], "finish_reason chunks")
    last = chunks[-1]
    eq(last.choices, [], "usage chunk choices")
    check(last.usage is not None, "no usage chunk with include_usage")
    eq((last.usage.prompt_tokens, last.usage.completion_tokens),
       (plain.usage.prompt_tokens, plain.usage.completion_tokens), "stream usage vs plain usage")
    # one chunk per token: as many content chunks as completion tokens
    n_content = sum(1 for c in chunks if c.choices and c.choices[0].delta.content)
    check(n_content <= last.usage.completion_tokens and
          n_content >= last.usage.completion_tokens - 2,
          "%d content chunks for %d tokens (want one chunk per token)"
          % (n_content, last.usage.completion_tokens))
    # raw framing: text/event-stream, [DONE] last; without include_usage no usage chunk
    res, events, done = S.stream("/v1/chat/completions",
                                 {"messages": msgs, "max_tokens": 8, "temperature": 0})
    eq(res.status, 200, "raw stream status")
    check(res.headers.get("content-type", "").startswith("text/event-stream"),
          "content-type %r" % res.headers.get("content-type"))
    check(done, "no data: [DONE]")
    check(all(e.get("choices") for e in events), "a chunk without choices (usage not asked)")


def test_completions():
    prompt = "The capital of France is"
    r = CLIENT.completions.create(model=MODEL_ID, prompt=prompt, max_tokens=12, temperature=0)
    eq(r.object, "text_completion", "object")
    c = r.choices[0]
    check(isinstance(c.text, str) and c.text.strip(), "empty text %r" % c.text)
    check(c.finish_reason in ("stop", "length"), "finish_reason %r" % c.finish_reason)
    eq(r.usage.prompt_tokens, len(tokenize(MODEL, prompt)), "completions prompt_tokens")
    s = list(CLIENT.completions.create(model=MODEL_ID, prompt=prompt, max_tokens=12,
                                       temperature=0, stream=True))
    eq("".join(x.choices[0].text for x in s if x.choices), c.text,
       "streamed completion vs plain")
    # prompt as an array of token ids gives the same answer
    ids = tokenize(MODEL, prompt)
    r3 = S.post("/v1/completions", {"prompt": ids, "max_tokens": 12, "temperature": 0})
    eq(r3.status, 200, "token-id prompt status (%r)" % r3)
    eq(r3.json()["choices"][0]["text"], c.text, "token-id prompt text")


def test_stop_strings():
    q = "Write one sentence about the ocean."
    full = chat(q, max_tokens=40).choices[0].message.content
    check(len(full) > 20, "greedy text too short for the stop test: %r" % full)
    # a stop string that starts mid-text and spans a token edge most likely
    k = len(full) // 2
    stop = full[k:k + 4]
    check(stop.strip(), "stop string would be blank: %r" % stop)
    want = full[:full.index(stop)]
    r = chat(q, max_tokens=40, stop=[stop])
    got = r.choices[0].message.content
    eq(got, want, "text with stop=%r" % stop)
    eq(r.choices[0].finish_reason, "stop", "finish_reason with a stop string hit")
    text, chunks = stream_chat([{"role": "user", "content": q}], max_tokens=40,
                               stop=["zzzq", stop])
    eq(text, want, "streamed text with stop=%r" % stop)
    check(stop not in text, "stop string in the streamed output")
    eq([c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason],
       ["stop"], "streamed finish_reason")
    # a stop string as a plain string on /v1/completions
    r = CLIENT.completions.create(model=MODEL_ID, prompt="1, 2, 3, 4, 5,", max_tokens=30,
                                  temperature=0, stop=" 9")
    check(" 9" not in r.choices[0].text, "stop ' 9' in %r" % r.choices[0].text)
    eq(r.choices[0].finish_reason, "stop", "completions finish_reason with stop ' 9' "
       "(text %r)" % r.choices[0].text)


def test_seed():
    q = "Write a short poem about the sea."
    a = chat(q, max_tokens=24, temperature=0.8, seed=42).choices[0].message.content
    b = chat(q, max_tokens=24, temperature=0.8, seed=42).choices[0].message.content
    eq(b, a, "same seed, same request, temperature 0.8")
    others = [chat(q, max_tokens=24, temperature=0.8, seed=s).choices[0].message.content
              for s in (1, 2, 3)]
    check(any(o != a for o in others), "seeds 1, 2, 3 and 42 all gave %r" % a)
    # streamed with the same seed: the same text
    text, _ = stream_chat([{"role": "user", "content": q}], max_tokens=24, temperature=0.8,
                          seed=42)
    eq(text, a, "streamed text with seed 42")


def test_usage_counts():
    msgs = [{"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to the world."}]
    want = len(tokenize(MODEL, chatml(msgs)))
    r = CLIENT.chat.completions.create(model=MODEL_ID, messages=msgs, max_tokens=6,
                                       temperature=0)
    eq(r.usage.prompt_tokens, want, "prompt_tokens vs the templated prompt's token count")
    _, chunks = stream_chat(msgs, max_tokens=6, stream_options={"include_usage": True})
    u = chunks[-1].usage
    eq((u.prompt_tokens, u.completion_tokens, u.total_tokens),
       (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens),
       "stream usage vs plain")
    # content as an array of one text part renders the same prompt
    parts = [{"role": "system", "content": [{"type": "text", "text": "You are terse."}]},
             {"role": "user", "content": [{"type": "text", "text": "Say hello to the world."}]}]
    r2 = S.post("/v1/chat/completions", {"messages": parts, "max_tokens": 6, "temperature": 0})
    eq(r2.status, 200, "content parts status (%r)" % r2)
    eq(r2.json()["usage"]["prompt_tokens"], want, "prompt_tokens with content parts")
    eq(r2.json()["choices"][0]["message"]["content"], r.choices[0].message.content,
       "text with content parts")
    parts[1]["content"] = [{"type": "text", "text": "Say hello"}, {"type": "text", "text": "!"}]
    r3 = S.post("/v1/chat/completions", {"messages": parts, "max_tokens": 2})
    eq(r3.status, 200, "two content parts status (%r)" % r3)


def test_max_tokens():
    r = chat(LONG_PROMPT, max_tokens=5)
    eq(r.choices[0].finish_reason, "length", "finish_reason at max_tokens 5")
    eq(r.usage.completion_tokens, 5, "completion_tokens at max_tokens 5")
    r = chat(LONG_PROMPT, max_tokens=None, max_completion_tokens=3)
    eq(r.choices[0].finish_reason, "length", "finish_reason at max_completion_tokens 3")
    eq(r.usage.completion_tokens, 3, "completion_tokens at max_completion_tokens 3")
    r = CLIENT.completions.create(model=MODEL_ID, prompt="1, 2, 3,", max_tokens=7, temperature=0)
    eq((r.choices[0].finish_reason, r.usage.completion_tokens), ("length", 7),
       "completions at max_tokens 7")


def test_logprobs():
    r = chat("What is the capital of France?", max_tokens=8, logprobs=True, top_logprobs=3)
    c = r.choices[0]
    check(c.logprobs is not None and c.logprobs.content, "no logprobs.content")
    lp = c.logprobs.content
    # one entry per generated token; an end-of-generation token (counted in
    # usage, no text) may have none
    n = r.usage.completion_tokens
    want = (n - 1, n) if c.finish_reason == "stop" else (n,)
    check(len(lp) in want, "%d logprobs entries for %d completion tokens (finish_reason %s)"
          % (len(lp), n, c.finish_reason))
    for i, t in enumerate(lp):
        check(isinstance(t.token, str), "token %d not a string" % i)
        check(t.logprob <= 0, "logprob %d = %r > 0" % (i, t.logprob))
        eq(len(t.top_logprobs), 3, "top_logprobs length at %d" % i)
        tl = [x.logprob for x in t.top_logprobs]
        check(all(x <= 0 for x in tl), "top logprob > 0 at %d: %r" % (i, tl))
        check(all(tl[j] >= tl[j + 1] - 1e-6 for j in range(len(tl) - 1)),
              "top_logprobs not sorted at %d: %r" % (i, tl))
        # greedy: the chosen token is the most likely one
        check(abs(t.logprob - tl[0]) < 1e-4, "greedy token %d logprob %r != top %r"
              % (i, t.logprob, tl[0]))
        check(t.bytes is None or isinstance(t.bytes, list), "bytes at %d" % i)
    if c.message.content.isascii():
        eq("".join(t.token for t in lp), c.message.content, "joined logprob tokens vs content")
    # no logprobs asked: none given
    r = chat("Hi", max_tokens=2)
    check(r.choices[0].logprobs is None, "logprobs present though not asked")
    if not S.kaiwu:
        return  # llama-server answers completions logprobs in the chat shape
    # completions: logprobs is an int (legacy shape: tokens, token_logprobs, top_logprobs)
    r = CLIENT.completions.create(model=MODEL_ID, prompt="The capital of France is",
                                  max_tokens=5, temperature=0, logprobs=2)
    L = r.choices[0].logprobs
    n = r.usage.completion_tokens
    eq(r.choices[0].finish_reason, "length", "completions finish_reason at max_tokens 5")
    eq((len(L.tokens), len(L.token_logprobs), len(L.top_logprobs)), (n, n, n),
       "completions logprobs lengths")
    eq("".join(L.tokens), r.choices[0].text, "joined completions logprob tokens vs text")
    check(all(x <= 0 for x in L.token_logprobs), "completion logprob > 0: %r" % L.token_logprobs)
    check(all(len(d) == 2 and all(v <= 0 for v in d.values()) for d in L.top_logprobs),
          "completions top_logprobs shape: %r" % L.top_logprobs)


def test_json_object():
    r = CLIENT.chat.completions.create(
        model=MODEL_ID, temperature=0, max_tokens=300, response_format={"type": "json_object"},
        messages=[{"role": "user",
                   "content": "Describe a cat as a JSON object with keys name and age."}])
    text = r.choices[0].message.content
    eq(r.choices[0].finish_reason, "stop", "json_object finish_reason (text %r)" % text)
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise AssertionError("json_object output does not parse (%s): %r" % (e, text))
    check(isinstance(obj, dict), "json_object output is not an object: %r" % text)
    # sampled too, with a seed
    r = CLIENT.chat.completions.create(
        model=MODEL_ID, temperature=1.0, seed=7, max_tokens=300,
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Give me a JSON object about a dog."}])
    if r.choices[0].finish_reason == "stop":
        check(isinstance(json.loads(r.choices[0].message.content), dict), "sampled json")
    # "text" is accepted and unconstrained
    r = chat("Hi", max_tokens=2, response_format={"type": "text"})
    check(r.choices[0].message.content is not None, "response_format text")


def settled_metrics():
    """/metrics once the token counters stop moving (0.3 s apart)."""
    prev = None
    for _ in range(20):
        m = S.metrics()
        cur = (metric(m, "kaiwu_generated_tokens_total"), metric(m, "kaiwu_prompt_tokens_total"),
               metric(m, "kaiwu_time_to_first_token_seconds_count"))
        if cur == prev:
            return m
        prev = cur
        time.sleep(0.3)
    return m


def test_metrics():
    r = S.request("GET", "/metrics")
    eq(r.status, 200, "/metrics status")
    ct = r.headers.get("content-type", "")
    if not S.kaiwu:
        return
    check(ct.startswith("text/plain") and "0.0.4" in ct, "/metrics content-type %r" % ct)
    m = S.metrics()
    names = {n for n, _ in m}
    for n in ("kaiwu_requests_total", "kaiwu_prompt_tokens_total",
              "kaiwu_generated_tokens_total",
              "kaiwu_time_to_first_token_seconds_bucket",
              "kaiwu_time_to_first_token_seconds_sum",
              "kaiwu_time_to_first_token_seconds_count",
              "kaiwu_inter_token_latency_seconds_bucket",
              "kaiwu_inter_token_latency_seconds_sum",
              "kaiwu_inter_token_latency_seconds_count",
              "kaiwu_queue_depth", "kaiwu_slots_busy", "kaiwu_slots_total",
              "kaiwu_kv_cache_usage_ratio"):
        check(n in names, "metric %s missing from /metrics" % n)
    eq(metric(m, "kaiwu_slots_total"), 8, "kaiwu_slots_total")
    kv = metric(m, "kaiwu_kv_cache_usage_ratio")
    check(0 <= kv <= 1, "kv cache ratio %r" % kv)
    check(metric(m, "kaiwu_requests_total", path="/v1/chat/completions", status="200") > 0,
          "no 200 counted for /v1/chat/completions")
    # counters move by exactly one request's usage (nothing else runs now;
    # a server may count a request just after answering it, so settle first)
    m = settled_metrics()
    r = chat(LONG_PROMPT, max_tokens=5)
    m2 = settled_metrics()
    eq(metric(m2, "kaiwu_generated_tokens_total") - metric(m, "kaiwu_generated_tokens_total"),
       r.usage.completion_tokens, "kaiwu_generated_tokens_total delta")
    eq(metric(m2, "kaiwu_prompt_tokens_total") - metric(m, "kaiwu_prompt_tokens_total"),
       r.usage.prompt_tokens, "kaiwu_prompt_tokens_total delta")
    eq(metric(m2, "kaiwu_time_to_first_token_seconds_count")
       - metric(m, "kaiwu_time_to_first_token_seconds_count"), 1, "ttft count delta")
    eq(metric(m2, "kaiwu_inter_token_latency_seconds_count")
       - metric(m, "kaiwu_inter_token_latency_seconds_count"), 4, "itl count delta (5 tokens)")
    inf = metric(m2, "kaiwu_time_to_first_token_seconds_bucket", le="+Inf")
    eq(inf, metric(m2, "kaiwu_time_to_first_token_seconds_count"), "ttft +Inf bucket vs count")
    eq(metric(m2, "kaiwu_slots_busy"), 0, "slots busy while idle")
    eq(metric(m2, "kaiwu_queue_depth"), 0, "queue depth while idle")


def test_disconnect_cancels():
    body = json.dumps({"messages": [{"role": "user", "content": LONG_PROMPT}],
                       "max_tokens": 900, "temperature": 0, "stream": True}).encode()
    s = socket.create_connection((S.host, S.port), timeout=30)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    got = b""
    while got.count(b"data: ") < 6:
        b = s.recv(4096)
        check(b, "stream ended early: %r" % got[-300:])
        got += b
    check(b'"finish_reason":"' not in got.replace(b" ", b""),
          "stream finished before the disconnect")
    busy = S.slots_busy()
    check(busy >= 1, "slots busy %r during a stream" % busy)
    s.close()
    t0 = time.time()
    while S.slots_busy() != 0:
        check(time.time() - t0 < 2.0, "slot still busy 2 s after the client left")
        time.sleep(0.05)
    t0 = time.time()
    r = chat("Hi", max_tokens=4)
    check(r.choices[0].message.content is not None, "request after disconnect")
    check(time.time() - t0 < 5, "request after the disconnect took %.1fs" % (time.time() - t0))


PROMPTS = ["What is the capital of France?", "Name a fruit that is yellow.",
           "Write a haiku about snow.", "What is 2 plus 2?",
           "Tell me a fact about the moon.", "List three animals.",
           "How do birds fly?", "Say something nice."]


def test_concurrent_streams():
    def req(p, n):
        return ([{"role": "user", "content": p}], n)
    reqs = [req(p, 16 + 2 * i) for i, p in enumerate(PROMPTS)]
    alone = [stream_chat(m, max_tokens=n)[0] for m, n in reqs]
    results = [None] * len(reqs)
    errors = []

    def worker(i):
        try:
            results[i] = stream_chat(reqs[i][0], max_tokens=reqs[i][1])[0]
        except Exception as e:  # noqa: BLE001
            errors.append("stream %d: %s" % (i, e))
    for rnd in range(2):
        ths = [threading.Thread(target=worker, args=(i,)) for i in range(len(reqs))]
        for i, t in enumerate(ths):
            t.start()
            if rnd == 1:
                time.sleep(0.03 * i)  # staggered: requests join mid-generation
        for t in ths:
            t.join(180)
        check(not errors, "; ".join(errors))
        for i in range(len(reqs)):
            eq(results[i], alone[i], "round %d stream %d (%r) concurrent vs alone"
               % (rnd, i, PROMPTS[i]))


# ---- other servers -----------------------------------------------------------
def test_auth_and_alias():
    with Server(["--api-key", "s3cret-key", "--alias", "tiny", "--parallel", "1",
                 "--ctx", str(CTX)]) as a:
        eq(a.request("GET", "/health").status, 200, "/health without key")
        r = a.request("GET", "/v1/models")
        eq(r.status, 401, "/v1/models without key")
        err = r.json().get("error", {})
        check(isinstance(err.get("message"), str), "401 error JSON %r" % r.body)
        if a.kaiwu:
            eq(err.get("type"), "authentication_error", "401 error type")
        for bad in ("wrong", "s3cret-ke", "s3cret-keyX", ""):
            r = a.request("GET", "/v1/models", headers={"Authorization": "Bearer " + bad})
            eq(r.status, 401, "/v1/models with key %r" % bad)
        r = a.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}],
                                            "max_tokens": 2})
        eq(r.status, 401, "chat without key")
        if a.kaiwu:
            eq(a.request("GET", "/metrics").status, 401, "/metrics without key")
            eq(a.request("GET", "/metrics", key="s3cret-key").status, 200, "/metrics with key")
        try:
            client_for(a, "wrong").chat.completions.create(
                model="tiny", max_tokens=2, messages=[{"role": "user", "content": "Hi"}])
            raise AssertionError("wrong key accepted by the openai client")
        except openai.AuthenticationError as e:
            eq(e.status_code, 401, "AuthenticationError status")
        good = client_for(a, "s3cret-key")
        eq([m.id for m in good.models.list().data][0], "tiny", "alias id")
        r = good.chat.completions.create(model="tiny", max_tokens=2, temperature=0,
                                         messages=[{"role": "user", "content": "Hi"}])
        eq(r.usage.completion_tokens, 2, "completion_tokens with the right key")
        if a.kaiwu:
            eq(r.model, "tiny", "response model with --alias")


def test_queue_full_429():
    with Server(["--parallel", "1", "--queue", "1", "--ctx", str(CTX)]) as q:
        body = {"messages": [{"role": "user", "content": LONG_PROMPT}],
                "max_tokens": 150, "temperature": 0}
        out, lock = [], threading.Lock()

        def worker():
            try:
                r = q.post("/v1/chat/completions", body, timeout=120)
            except Exception as e:  # noqa: BLE001
                r = e
            with lock:
                out.append(r)
        ths = [threading.Thread(target=worker) for _ in range(6)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(150)
        bad = [r for r in out if not hasattr(r, "status")]
        check(not bad, "requests failed at the transport level: %r" % bad)
        codes = sorted(r.status for r in out)
        check(codes.count(429) >= 1, "no 429 among %r" % codes)
        check(codes.count(200) >= 2, "fewer than 2 served among %r" % codes)
        check(set(codes) <= {200, 429}, "unexpected statuses %r" % codes)
        for r in out:
            if r.status == 429:
                check(r.headers.get("retry-after"), "429 without Retry-After: %r" % r.headers)
                check("error" in r.json(), "429 body %r" % r.body)
                if q.kaiwu:
                    eq(r.json()["error"].get("type"), "rate_limit_exceeded", "429 error type")
        # the queue drains: a later request is served
        r = q.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}],
                                            "max_tokens": 2})
        eq(r.status, 200, "request after the flood")


def test_sigterm_exit0():
    S.stop()


def main():
    global S, CLIENT
    run = Runner("test_serve_openai")
    S = Server(["--parallel", "8", "--ctx", str(CTX), "--queue", "16"])
    try:
        CLIENT = client_for(S)
        for fn in (test_health, test_models, test_chat_plain, test_chat_stream,
                   test_completions, test_stop_strings, test_seed, test_usage_counts,
                   test_max_tokens, test_logprobs, test_json_object, test_metrics,
                   test_disconnect_cancels, test_concurrent_streams, test_sigterm_exit0):
            run.run(fn)
    finally:
        S.kill()
    run.run(test_auth_and_alias)
    if S.kaiwu:  # llama-server has no queue bound
        run.run(test_queue_full_429)
    run.finish()


if __name__ == "__main__":
    main()
