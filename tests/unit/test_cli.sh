#!/usr/bin/env bash
# test_cli.sh — behaviour of the kaiwu CLI ($KW_BIN): --help and usage
# errors (exit 2) for every command, info on good/missing/truncated files and
# a crafted GGUF with awkward strings (JSON escaping), then with the real
# model (KW_MODELS_DIR): tokenize, greedy generate (same tokens for 1 and 2
# threads), prompt larger than the context, piped chat, bench --json.
# Exit 77 (skip) when the model is missing, unless KW_REQUIRE_MODELS=1.
. "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
MODEL=${KW_MODELS_DIR:-models}/SmolLM2-135M-Instruct.Q4_1.gguf

grep_err() { grep_file "$1" "$tmp/err" "$2"; } # DESC PATTERN
valid_json() { # DESC
    if python3 -m json.tool "$tmp/out" >/dev/null 2>&1; then ok "$1"; else
        bad "$1 (invalid JSON)"; head -c 400 "$tmp/out" | sed 's/^/     /'
    fi
}
pycheck() { # DESC PYTHON-EXPR over d = the JSON in $tmp/out
    if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
assert $2, d" "$tmp/out" 2>"$tmp/py"; then ok "$1"; else
        bad "$1"; tail -3 "$tmp/py" | sed 's/^/     /'
    fi
}

# ---- no model needed -------------------------------------------------
run --help; expect_rc "kaiwu --help" 0
grep -q "usage" "$tmp/out" && ok "--help shows usage" || bad "--help shows usage"
run --version; expect_rc "kaiwu --version" 0
grep -q "kaiwu" "$tmp/out" && ok "--version output" || bad "--version output"
run version; expect_rc "kaiwu version" 0
run frobnicate; expect_rc "unknown command" 2
run --frobnicate; expect_rc "unknown top-level option" 2
for c in info tokenize generate chat bench; do
    run "$c" --help; expect_rc "$c --help" 0
    grep -q "usage: kaiwu $c" "$tmp/out" && ok "$c --help shows usage" ||
        bad "$c --help shows usage"
    run "$c" --no-such-option; expect_rc "$c unknown option" 2
    grep_err "$c unknown option message" "kaiwu: "
done
run generate -m x.gguf -p hi -n abc; expect_rc "generate -n abc" 2
run generate -m x.gguf -p hi --top-p 2; expect_rc "generate --top-p 2" 2
run generate -m x.gguf -p hi --temp; expect_rc "generate missing value" 2
run generate -p hi; expect_rc "generate without -m" 2
run info; expect_rc "info without FILE" 2
run info "$tmp/missing.gguf"; expect_rc "info missing file" 1
grep_err "info missing file message" "kaiwu: "
grep_err "info missing file names it" "$tmp/missing.gguf"

# A small GGUF v3 with awkward strings and a long array, for escaping.
python3 - "$tmp/odd.gguf" <<'PY'
import struct, sys
def s(b): return struct.pack("<Q", len(b)) + b
kv = [(b"general.architecture", 8, s(b"llama")),
      (b"odd.string", 8, s(b'q"b\\s\x01\n\t\xff\xc3(\xe2\x82\xac')),
      (b"odd.array", 9, struct.pack("<IQ", 4, 40) +
       b"".join(struct.pack("<I", i) for i in range(40))),
      (b"odd.strings", 9, struct.pack("<IQ", 8, 2) + s(b"a") + s(b"\x7f")),
      (b"odd.f32", 6, struct.pack("<f", 0.5)),
      (b"odd.bool", 7, b"\x01"),
      (b"odd.i64", 11, struct.pack("<q", -5))]
out = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kv))
for k, t, v in kv: out += s(k) + struct.pack("<I", t) + v
out += s(b"t.weight") + struct.pack("<IQQIQ", 2, 4, 2, 0, 0)
out += b"\0" * (-len(out) % 32) + struct.pack("<8f", *range(8))
open(sys.argv[1], "wb").write(out)
PY
run info "$tmp/odd.gguf" --json; expect_rc "info crafted --json" 0
valid_json "info crafted --json is valid JSON"
pycheck "info crafted: escaping and array cap" \
'[m for m in d["metadata"] if m["key"]=="odd.string"][0]["value"] == \
"q\"b\\s\x01\n\t\ufffd\ufffd(\u20ac" and \
[m for m in d["metadata"] if m["key"]=="odd.array"][0]["length"] == 40 and \
len([m for m in d["metadata"] if m["key"]=="odd.array"][0]["values"]) == 16 \
and d["tensors"][0]["dims"] == [4, 2] and d["tensors"][0]["type"] == "f32"'
run info "$tmp/odd.gguf"; expect_rc "info crafted text" 0
grep -q "odd.array" "$tmp/out" && ok "info text lists keys" ||
    bad "info text lists keys"

# ---- with the model ---------------------------------------------------
if [ ! -f "$MODEL" ]; then
    echo "model missing: $MODEL"
    [ "$fails" -gt 0 ] && exit 1
    [ "${KW_REQUIRE_MODELS:-0}" = 1 ] && exit 1
    exit 77
fi

run info "$MODEL"; expect_rc "info model" 0
grep -q "general.architecture" "$tmp/out" && grep -q "token_embd.weight" \
    "$tmp/out" && ok "info text content" || bad "info text content"
run info "$MODEL" --json; expect_rc "info model --json" 0
valid_json "info model --json is valid JSON"
pycheck "info --json content" 'd["version"] == 3 and d["n_tensors"] == \
len(d["tensors"]) > 0 and any(m["key"] == "tokenizer.ggml.tokens" and \
len(m["values"]) == 16 for m in d["metadata"])'
head -c 100000 "$MODEL" >"$tmp/trunc.gguf"
run info "$tmp/trunc.gguf"; expect_rc "info truncated file" 1
grep_err "info truncated message" "kaiwu: "
grep_err "info truncated names the file" "$tmp/trunc.gguf"
head -c 10 "$MODEL" >"$tmp/short.gguf"
run info "$tmp/short.gguf"; expect_rc "info 10-byte file" 1

run tokenize -m "$MODEL" -p "Hello world" --json
expect_rc "tokenize --json" 0
valid_json "tokenize --json is valid JSON"
pycheck "tokenize --json has tokens" \
'list(d) == ["tokens"] and len(d["tokens"]) >= 2'
run tokenize -m "$MODEL" -p "Hello world"; expect_rc "tokenize text" 0
grep -q -- "->" "$tmp/out" && ok "tokenize text lines" ||
    bad "tokenize text lines"
run tokenize -m "$tmp/none.gguf" -p hi; expect_rc "tokenize bad model" 1

P="The capital of France is"
run generate -m "$MODEL" -p "$P" -n 8 --temp 0 --json -t 1
expect_rc "generate -t 1" 0
valid_json "generate --json is valid JSON"
pycheck "generate gives 8 tokens" 'len(d["tokens"]) == 8 and \
len(d["prompt_tokens"]) > 0 and isinstance(d["text"], str) and \
all(k in d["timings"] for k in ("load_ms","prompt_ms","prompt_tok_s",\
"gen_ms","gen_tok_s"))'
cp "$tmp/out" "$tmp/gen1.json"
run generate -m "$MODEL" -p "$P" -n 8 --temp 0 --json -t 2
expect_rc "generate -t 2" 0
if python3 -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]);\
assert a['tokens']==b['tokens'] and a['text']==b['text']" \
    "$tmp/gen1.json" "$tmp/out" 2>/dev/null; then
    ok "generate -t 1 and -t 2 agree"
else
    bad "generate -t 1 and -t 2 agree"
fi
run generate -m "$MODEL" -p "$P" -n 8 --temp 0
expect_rc "generate text mode" 0
[ -s "$tmp/out" ] && ok "generate streams text" || bad "generate streams text"
grep_err "generate prints timings" "tok/s"
run generate -m "$MODEL" -p "Hi" -n 8 --temp 0 --chat --system "Be brief." \
    --json
expect_rc "generate --chat" 0
valid_json "generate --chat --json is valid JSON"
long=$(printf 'the quick brown fox jumps over the lazy dog %.0s' $(seq 20))
run generate -m "$MODEL" -p "$long" --ctx 32 -n 4 --temp 0
expect_rc "prompt larger than --ctx" 1
grep_err "prompt larger than --ctx message" "kaiwu: "
run generate -m "$MODEL" -p "$P" --ctx 12 -n -1 --temp 0 --json
expect_rc "generate until the context is full" 0
grep_err "context full message" "context full"

printf 'hello\n/reset\nhi\n' >"$tmp/chat.in"
"$BIN" chat -m "$MODEL" -n 16 --temp 0 --ctx 1024 <"$tmp/chat.in" \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc "chat with piped stdin" 0
grep -q "history cleared" "$tmp/out" && ok "chat /reset" || bad "chat /reset"
printf 'hello\nhow are you?\n/exit\nnot read\n' | "$BIN" chat -m "$MODEL" \
    -n 8 --temp 0 --system "You are terse." >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc "chat two turns and /exit" 0

run bench -m "$MODEL" -p 16 -n 4 -r 2 -t 1 --json
expect_rc "bench --json" 0
valid_json "bench --json is valid JSON"
pycheck "bench keys" 'd["pp16"] > 0 and d["tg4"] > 0 and d["threads"] == 1'
run bench -m "$MODEL" -p 8 -n 2 -r 1; expect_rc "bench text" 0
grep -q "pp8" "$tmp/out" && ok "bench table" || bad "bench table"

finish
