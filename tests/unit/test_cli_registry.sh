#!/usr/bin/env bash
# test_cli_registry.sh — usage behaviour of the store and registry commands
# of the kaiwu CLI ($KW_BIN), without any registry: --help of push, pull,
# mirror, models and rm (exit 0), usage errors (exit 2), `models` on an
# empty store (header only; --json gives []), rm of an unknown name and
# -m with a name that is neither a file nor a stored model (exit 1), and a
# pull from a closed loopback port (a clean network error, exit 1).
. "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
# an empty store, and nothing from the caller's environment
export KAIWU_HOME="$tmp/home" HOME="$tmp/user"
unset KAIWU_REGISTRY KAIWU_REGISTRY_USER KAIWU_REGISTRY_PASSWORD \
    REGISTRY_AUTH_FILE
mkdir -p "$HOME"

# ---- --help ------------------------------------------------------------
for c in push pull mirror models rm; do
    run "$c" --help; expect_rc "$c --help" 0
    grep_file "$c --help synopsis" "$tmp/out" "usage: kaiwu $c"
    grep_file "$c --help names KAIWU_HOME" "$tmp/out" "KAIWU_HOME"
    run "$c" --no-such-option; expect_rc "$c unknown option" 2
    grep_file "$c unknown option message" "$tmp/err" "kaiwu: $c:"
done
for c in push pull mirror; do
    run "$c" -h
    for w in --plain-http --auth-file --ca-file --json --quiet \
        KAIWU_REGISTRY KAIWU_REGISTRY_USER KAIWU_REGISTRY_PASSWORD \
        REGISTRY_AUTH_FILE; do
        grep -qF -- "$w" "$tmp/out" || bad "$c --help lacks $w"
    done
done
run pull --help
for w in --connections --limit-rate --chunk-size; do
    grep_file "pull --help: $w" "$tmp/out" "$w"
done
run --help
for c in push pull mirror models rm; do
    grep -q "^  $c " "$tmp/out" && ok "kaiwu --help lists $c" ||
        bad "kaiwu --help lists $c"
done

# A build without the store (KW_REGISTRY=OFF) has nothing more to test.
run models
if [ "$rc" -ne 0 ] && grep -q "not built in" "$tmp/err"; then
    echo "the store is not built in (KW_REGISTRY=OFF): usage tests only"
    run pull 127.0.0.1:5000/models/x:q4; expect_rc "pull without the store" 1
    finish
fi

# ---- usage errors (exit 2) --------------------------------------------
R=127.0.0.1:5000/models/x:q4
run push; expect_rc "push without arguments" 2
run push "$tmp/f.gguf"; expect_rc "push without REF" 2
run push a b c; expect_rc "push with 3 arguments" 2
run pull; expect_rc "pull without REF" 2
run pull "$R" "$R"; expect_rc "pull with 2 REFs" 2
run pull "Not A Ref!"; expect_rc "pull of an invalid reference" 2
grep_file "invalid reference message" "$tmp/err" "not a model reference"
run pull "$R" --connections 0; expect_rc "pull --connections 0" 2
run pull "$R" --connections 17; expect_rc "pull --connections 17" 2
run pull "$R" --connections x; expect_rc "pull --connections x" 2
run pull "$R" --chunk-size 1K; expect_rc "pull --chunk-size 1K (< 1 MiB)" 2
run pull "$R" --chunk-size 2T; expect_rc "pull --chunk-size 2T (> 1 GiB)" 2
run pull "$R" --chunk-size 16Q; expect_rc "pull --chunk-size 16Q" 2
run pull "$R" --limit-rate fast; expect_rc "pull --limit-rate fast" 2
run pull "$R" --limit-rate; expect_rc "pull --limit-rate without value" 2
run push "$tmp/f.gguf" "$R" --connections 2
expect_rc "push does not take --connections" 2
run mirror "$R"; expect_rc "mirror with one REF" 2
run mirror "$R" "bad ref"; expect_rc "mirror to an invalid reference" 2
run models extra; expect_rc "models with an argument" 2
run rm; expect_rc "rm without NAME" 2
run rm "$R" "$R"; expect_rc "rm with 2 names" 2

# ---- the empty store ---------------------------------------------------
run models; expect_rc "models on an empty store" 0
if [ "$(wc -l <"$tmp/out")" -le 1 ] && ! grep -q "127.0.0.1" "$tmp/out"
then ok "models lists nothing"; else
    bad "models lists nothing"; head -3 "$tmp/out" | sed 's/^/     /'
fi
run models --json; expect_rc "models --json on an empty store" 0
if python3 -c "import json,sys; assert json.load(open(sys.argv[1])) == []" \
    "$tmp/out" 2>/dev/null; then ok "models --json prints []"; else
    bad "models --json prints []"; head -c 200 "$tmp/out" | sed 's/^/     /'
fi
run rm "$R"; expect_rc "rm of an unknown name" 1
grep_file "rm unknown name message" "$tmp/err" "kaiwu: rm $R"
run rm --json "$R"; expect_rc "rm --json of an unknown name" 1

# ---- -m MODEL: file or stored name ------------------------------------
for m in not/a:ref "$R" "$tmp/none.gguf"; do
    run generate -m "$m" -p hi; expect_rc "generate -m $m" 1
    grep_file "generate -m $m message" "$tmp/err" \
        "kaiwu: $m: no such file or stored model"
done
run info "$R"; expect_rc "info of an unknown stored name" 1
grep_file "info unknown name message" "$tmp/err" "no such file or stored model"
run tokenize -m "$R" -p hi; expect_rc "tokenize -m of an unknown name" 1
run bench -m "$R"; expect_rc "bench -m of an unknown name" 1
run chat -m "$R"; expect_rc "chat -m of an unknown name" 1

# ---- runtime errors (exit 1) ------------------------------------------
run push "$tmp/none.gguf" "$R"; expect_rc "push of a missing file" 1
grep_file "push missing file message" "$tmp/err" "$tmp/none.gguf"
run pull "$R" --auth-file "$tmp/none.json"
expect_rc "pull with a missing --auth-file" 1
grep_file "missing --auth-file message" "$tmp/err" "$tmp/none.json"
# Port 1 on loopback: nothing listens, the connection is refused at once.
if command -v timeout >/dev/null; then T="timeout 120"; else T=; fi
$T "$BIN" pull 127.0.0.1:1/models/x:q4 --plain-http -q >"$tmp/out" \
    2>"$tmp/err" </dev/null
rc=$?
expect_rc "pull from a closed port" 1
grep_file "closed port message" "$tmp/err" "kaiwu: pull 127.0.0.1:1/models/x:q4: "
[ -s "$tmp/out" ] && bad "failed pull prints nothing on stdout" ||
    ok "failed pull prints nothing on stdout"
run models --json
python3 -c "import json,sys; assert json.load(open(sys.argv[1])) == []" \
    "$tmp/out" 2>/dev/null && ok "a failed pull stores no name" ||
    bad "a failed pull stores no name"

finish
