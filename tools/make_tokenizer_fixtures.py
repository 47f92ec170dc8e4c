#!/usr/bin/env python3
"""make_tokenizer_fixtures.py — reference token ids for tests/unit/test_tokenizer.c,
made by llama.cpp's llama-tokenize.

Writes tests/fixtures/tokenizer/<vocab>.tsv for SmolLM2 (models/
SmolLM2-135M-Instruct.Q4_1.gguf) and llama.cpp's ggml-vocab-{llama-bpe,qwen2,
llama-spm,gpt-2}.gguf. Each non-comment line is

    MODE <TAB> hex(text) <TAB> ids separated by spaces

MODE is two digits: add_special then parse_special, as kw_tokenize takes
them. llama-tokenize is run with --no-escape --ids --stdin plus --no-bos for
add_special=0 (it then calls llama_tokenize with add_special=false) and
--no-parse-special for parse_special=0. Mode 00 lines are llama.cpp's own
<vocab>.gguf.inp tests, which are also checked against its .out files here
(SmolLM2 has none: it gets the texts of ggml-vocab-gpt-2.gguf.inp).

Environment: LLAMA_TOKENIZE (the binary), LLAMA_CPP_DIR (for models/),
KW_MODELS_DIR (for the SmolLM2 GGUF). Usage:
    python3 tools/make_tokenizer_fixtures.py [--check-only] [VOCAB...]
"""
import concurrent.futures
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA_CPP_DIR = os.environ.get(
    "LLAMA_CPP_DIR",
    "/root/.cache/kaiwu-peer/llama_cpp_python-0.3.36/vendor/llama.cpp")
LLAMA_TOKENIZE = os.environ.get(
    "LLAMA_TOKENIZE", os.path.join(LLAMA_CPP_DIR, "build/bin/llama-tokenize"))
MODELS_DIR = os.environ.get("KW_MODELS_DIR", os.path.join(ROOT, "models"))
OUT_DIR = os.path.join(ROOT, "tests/fixtures/tokenizer")

VOCABS = {
    "smollm2": os.path.join(MODELS_DIR, "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "llama-bpe": os.path.join(LLAMA_CPP_DIR, "models/ggml-vocab-llama-bpe.gguf"),
    "qwen2": os.path.join(LLAMA_CPP_DIR, "models/ggml-vocab-qwen2.gguf"),
    "llama-spm": os.path.join(LLAMA_CPP_DIR, "models/ggml-vocab-llama-spm.gguf"),
    "gpt-2": os.path.join(LLAMA_CPP_DIR, "models/ggml-vocab-gpt-2.gguf"),
}

# (text as bytes); str entries are UTF-8 encoded
CORPUS = [
    "Hello world",
    " Hello world",
    "Hello World! How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\n\n\n",
    "a  b   c    d",
    "   leading and trailing   ",
    "line one\nline two\r\nline three\n\n",
    "\t\tindented\n\t  mixed \t tabs",
    "I'm sure you're right, it's what we'd've done, they'll see.",
    "DON'T SHOUT. You'RE 'S 'T 'Ll 'vE 'd 'M",
    "rock'n'roll o'clock '90s 'quote'",
    "MiXeD CaSe wOrDs camelCaseIdentifier snake_case_name",
    "café naïve résumé Ångström Straße",
    "e\u0301 a\u0308 combining marks",
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな",
    "한국어 텍스트입니다",
    "Привет, мир! Как дела?",
    "مرحبا بالعالم ٣٤٥",
    "नमस्ते दुनिया",
    "Emoji: 😀🎉👍🏽 👨‍👩‍👧 🇫🇷 ❤️",
    "0 12 345 6789 1234567890 3.14159 1,000,000 -42 +7",
    "phone 555-123-4567, year 2024, v1.2.3",
    "x² ½ ① Ⅻ ＡＢＣ１２３",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n",
    "int main(void) {\n\tprintf(\"%d\\n\", x[i]);\n\treturn 0;\n}\n",
    "if (a <= b && c != d) { x += 1; } // comment",
    "$$$ +++ <<>> ^~| @#% &*() []{} ... --- ___",
    "https://example.com/path?q=1&r=two#frag user@mail.org",
    "a\u00a0b\u2009c\u3000d\u2028e\u200bf",
    "ctrl\x01\x02\x7f chars",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>tail",
    "<s>[INST] hi [/INST]</s>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
    "<|im_start|><|im_start|>doubled<|im_end|><|im_end|>",
    "almost <|im_start special <| |> <unk>",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
    "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim "
    "veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea "
    "commodo consequat. 1234 words and 56789 numbers!\n\n  Duis aute irure.",
    b"invalid \xff\xfe utf8",
    b"truncated \xe4\xb8",
    b"\xc0\x80 overlong and \xed\xa0\x80 surrogate",
    b"\x80\x81 stray continuation",
]

# strings where the parse_special / add_special variants are interesting
SPECIAL_VARIANTS = [
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>tail",
    "<s>[INST] hi [/INST]</s>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
    "almost <|im_start special <| |> <unk>",
    "Hello world",
    "",
]


def as_bytes(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def tokenize(model, text, add_special, parse_special):
    cmd = [LLAMA_TOKENIZE, "-m", model, "--stdin", "--no-escape", "--ids",
           "--log-disable"]
    if not add_special:
        cmd.append("--no-bos")
    if not parse_special:
        cmd.append("--no-parse-special")
    r = subprocess.run(cmd, input=text, capture_output=True, check=True)
    line = [ln for ln in r.stdout.decode().splitlines() if ln.startswith("[")]
    body = line[-1].strip()[1:-1].strip()
    return [int(x) for x in body.split(",")] if body else []


def read_inp_out(model):
    """llama.cpp's .inp/.out pairs, parsed as tests/test-tokenizer-0.cpp
    does (add_special=false, parse_special=false)."""
    inp, out = model + ".inp", model + ".out"
    if not (os.path.exists(inp) and os.path.exists(out)):
        return []
    raw = open(inp, "rb").read()
    sep = b"\n__ggml_vocab_test__\n"
    texts, pos = [], 0
    while pos < len(raw):
        nxt = raw.find(sep, pos)
        if nxt < 0:
            texts.append(raw[pos:])
            break
        texts.append(raw[pos:nxt])
        pos = nxt + len(sep)
    outs = [[int(x) for x in ln.split()] for ln in
            open(out, "rb").read().decode().split("\n")[:len(texts)]]
    return list(zip(texts, outs))


def main():
    check_only = "--check-only" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    os.makedirs(OUT_DIR, exist_ok=True)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    for name, model in VOCABS.items():
        if only and name not in only:
            continue
        if not os.path.exists(model):
            print("skip %s: %s missing" % (name, model))
            continue
        jobs = [(as_bytes(s), 1, 1) for s in CORPUS]
        jobs += [(as_bytes(s), 1, 0) for s in SPECIAL_VARIANTS]
        jobs += [(as_bytes(s), 0, 1) for s in SPECIAL_VARIANTS]
        ref = read_inp_out(model)
        jobs += [(t, 0, 0) for t, _ in ref]
        if not ref:  # no expectations of its own: borrow texts only
            jobs += [(t, 0, 0) for t, _ in read_inp_out(VOCABS["gpt-2"])]
        results = list(pool.map(lambda j: tokenize(model, *j), jobs))
        bad = 0
        for (t, ids), got in zip(ref, results[len(jobs) - len(ref):]):
            if ids != got:
                bad += 1
                print("  %s: llama-tokenize disagrees with .out on %r" %
                      (name, t[:40]))
        print("%s: %d lines; .inp/.out cross-check %d/%d agree" %
              (name, len(jobs), len(ref) - bad, len(ref)))
        if check_only:
            continue
        path = os.path.join(OUT_DIR, name + ".tsv")
        with open(path, "w") as f:
            f.write("# generated by tools/make_tokenizer_fixtures.py from %s\n"
                    % os.path.basename(model))
            f.write("# MODE(add_special parse_special)\thex(text)\tids\n")
            for (t, a, p), ids in zip(jobs, results):
                f.write("%d%d\t%s\t%s\n" % (a, p, t.hex(),
                                            " ".join(map(str, ids))))


if __name__ == "__main__":
    main()
