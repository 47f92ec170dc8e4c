#!/usr/bin/env python3
"""make_chat_fixtures.py - regenerates tests/fixtures/chat/ with llama.cpp as
the oracle (its libllama.so is called through ctypes; nothing of it is copied).

Writes:
  render.txt      conversations (@msg records) and llama.cpp's rendering of
                  each of them for every built-in template name (@out records)
  templates/*.jinja + detect.txt
                  real template texts and the template llama.cpp recognises
                  in each ("-" when it recognises none)
Records: "@conv NAME", then its messages "@msg NAME INDEX ROLE" (the data is
the content), then "@out TEMPLATE CONV ADD_ASSISTANT" (the data is llama.cpp's
prompt). Format (binary safe): "@<kind> <fields...> <len>\\n" + len bytes + "\\n".

Usage: python3 tools/make_chat_fixtures.py [--llama-cpp DIR] [--model GGUF]
"""
import argparse
import codecs
import ctypes
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "fixtures", "chat")

# Conversations rendered for every template. Whitespace at the edges and
# non-ASCII bytes check trimming; "twosys" ends with an assistant turn.
CONVS = [
    ("full", [("system", " You are a helpful assistant. "),
              ("user", "Hello"),
              ("assistant", "  Hi there \n"),
              ("user", "Who are you? H\u00e9llo \u2713\n")]),
    ("nosys", [("user", "Hi"), ("assistant", "Hello!"),
               ("user", "  What's up?  ")]),
    ("single", [("user", "Hello")]),
    ("twosys", [("system", "Rule A."), ("system", "Rule B."),
                ("user", "Q"), ("assistant", "A")]),
    ("empty", []),
]

# Names that are not in llama.cpp's list, rendered by llama.cpp from a text
# that it maps to the same format: kaiwu's alias "mistral" is what llama.cpp
# does with the text "mistral"; dots1 has a format but no name there.
EXTRA_NAMES = {"mistral": "mistral", "dots1": "<|endofuserprompt|>"}

# Real templates shipped by llama.cpp (models/templates/) used for detection.
JINJA_FILES = [
    "Qwen-Qwen2.5-7B-Instruct.jinja",
    "meta-llama-Llama-3.2-3B-Instruct.jinja",
    "google-gemma-2-2b-it.jinja",
    "microsoft-Phi-3.5-mini-instruct.jinja",
    "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "Mistral-Small-3.2-24B-Instruct-2506.jinja",
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
    "llama-cpp-rwkv-world.jinja",
    "moonshotai-Kimi-K2.jinja",
    "CohereForAI-c4ai-command-r-plus-tool_use.jinja",
    "MiniMax-M1.jinja",                 # not recognised by llama.cpp
    "NVIDIA-Nemotron-Nano-v2.jinja",    # not recognised by llama.cpp
]


class Msg(ctypes.Structure):
    _fields_ = [("role", ctypes.c_char_p), ("content", ctypes.c_char_p)]


class Oracle:
    def __init__(self, lib_path):
        self.lib = ctypes.CDLL(lib_path)
        f = self.lib.llama_chat_apply_template
        f.argtypes = [ctypes.c_char_p, ctypes.POINTER(Msg), ctypes.c_size_t,
                      ctypes.c_bool, ctypes.c_char_p, ctypes.c_int32]
        f.restype = ctypes.c_int32
        g = self.lib.llama_chat_builtin_templates
        g.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t]
        g.restype = ctypes.c_int32

    def names(self):
        n = self.lib.llama_chat_builtin_templates(None, 0)
        arr = (ctypes.c_char_p * n)()
        self.lib.llama_chat_builtin_templates(arr, n)
        return [a.decode() for a in arr]

    def render(self, tmpl, conv, add):
        msgs = (Msg * max(1, len(conv)))(
            *[Msg(r.encode(), c.encode()) for r, c in conv])
        cap = 1 << 16
        buf = ctypes.create_string_buffer(cap)
        r = self.lib.llama_chat_apply_template(tmpl.encode(), msgs, len(conv),
                                               add, buf, cap)
        if r < 0:
            return None
        assert r < cap
        return buf.raw[:r]


def record(kind, fields, data):
    head = "@%s %s %d\n" % (kind, " ".join(str(f) for f in fields), len(data))
    return head.encode() + data + b"\n"


def cpp_test_templates(path):
    """(name, template text) of the test cases in llama.cpp's
    tests/test-chat-template.cpp."""
    src = open(path, encoding="utf-8").read()
    lit = r'"((?:[^"\\]|\\.)*)"'
    out = []
    for m in re.finditer(r'/\* \.name= \*/ ' + lit, src):
        t = re.compile(r'/\* \.template_str=? \*/ (?:U8C\()?' + lit)
        tm = t.search(src, m.end())
        if not tm:
            continue
        text = codecs.escape_decode(tm.group(1).encode("utf-8"))[0]
        out.append((m.group(1), text.decode("utf-8")))
    return out


def gguf_template(model):
    import gguf
    r = gguf.GGUFReader(model)
    f = r.fields["tokenizer.chat_template"]
    return bytes(f.parts[f.data[0]]).decode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", default="/root/.cache/kaiwu-peer/"
                    "llama_cpp_python-0.3.36/vendor/llama.cpp")
    ap.add_argument("--model", default=os.path.join(
        ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    a = ap.parse_args()
    orc = Oracle(os.path.join(a.llama_cpp, "build", "bin", "libllama.so"))

    names = {n: n for n in orc.names()}
    names.update(EXTRA_NAMES)

    blob = b""
    for cname, conv in CONVS:
        blob += record("conv", [cname], b"")
        for i, (role, content) in enumerate(conv):
            blob += record("msg", [cname, i, role], content.encode())
    for name in sorted(names):
        for cname, conv in CONVS:
            for add in (0, 1):
                o = orc.render(names[name], conv, bool(add))
                if o is None:
                    sys.exit("llama.cpp cannot render %s" % name)
                blob += record("out", [name, cname, add], o)
    os.makedirs(os.path.join(OUT, "templates"), exist_ok=True)
    with open(os.path.join(OUT, "render.txt"), "wb") as f:
        f.write(blob)

    # Detection: llama.cpp does not export its detector, so the recognised
    # template is the name whose renderings of all conversations equal the
    # renderings of the text. Ambiguous texts are left out.
    sig = {}
    for name in sorted(names):
        sig[name] = tuple(orc.render(names[name], c, add)
                          for _, c in CONVS for add in (False, True))
    texts = []
    if os.path.exists(a.model):
        texts.append(("SmolLM2-135M-Instruct.jinja", gguf_template(a.model)))
    for fn in JINJA_FILES:
        with open(os.path.join(a.llama_cpp, "models", "templates", fn),
                  encoding="utf-8") as f:
            texts.append((fn, f.read()))
    for name, text in cpp_test_templates(
            os.path.join(a.llama_cpp, "tests", "test-chat-template.cpp")):
        fn = "ltc-" + re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-")[:60]
        texts.append((fn + ".jinja", text))
    # Small texts for formats no real template above reaches.
    texts.append(("synthetic-llama2-sys.jinja",
                  "{{ bos_token }}{% for m in messages %}{% if m['role'] == "
                  "'system' %}{{ '[INST] <<SYS>>\\n' + m['content'] + "
                  "'\\n<</SYS>>\\n\\n' }}{% endif %}{% endfor %}"))
    texts.append(("synthetic-zephyr.jinja",
                  "{% for m in messages %}{% if m['role'] == 'user' %}"
                  "{{ '<|user|>\\n' + m['content'] + '<|endoftext|>\\n' }}"
                  "{% endif %}{% endfor %}"))
    texts.append(("plain-text.jinja", "INVALID TEMPLATE"))

    lines = []
    for fn, text in texts:
        s = tuple(orc.render(text, c, add) for _, c in CONVS
                  for add in (False, True))
        if s[0] is None:
            got = "-"
        else:
            cands = [n for n in sorted(names) if sig[n] == s and
                     n not in EXTRA_NAMES]
            if len(cands) != 1:
                print("skipping %s: ambiguous %s" % (fn, cands))
                continue
            got = cands[0]
        with open(os.path.join(OUT, "templates", fn), "w",
                  encoding="utf-8") as f:
            f.write(text)
        lines.append("%s\t%s\n" % (fn, got))
    with open(os.path.join(OUT, "detect.txt"), "w") as f:
        f.writelines(lines)
    print("wrote %d renderings, %d templates" % (len(names) * len(CONVS) * 2,
                                                 len(lines)))


if __name__ == "__main__":
    main()
