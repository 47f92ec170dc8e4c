# cli_common.sh — the frame test_cli.sh and test_cli_registry.sh share
# (sourced, not a test: CTest runs only test_*.sh): $BIN from $KW_BIN, a temp
# dir $tmp removed on exit, the $fails count, and the helpers ok/bad, run
# (the CLI into $tmp/out, $tmp/err, $rc), expect_rc, grep_file and finish.
set -u
BIN=${KW_BIN:?KW_BIN must point to the kaiwu binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
# run ARGS...: runs the CLI; sets $rc, output in $tmp/out and $tmp/err
run() { "$BIN" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?; }
expect_rc() { # DESC WANT
    if [ "$rc" -eq "$2" ]; then ok "$1"; else
        bad "$1 (exit $rc, want $2)"; sed 's/^/     /' "$tmp/err" | head -5
    fi
}
grep_file() { # DESC FILE PATTERN
    if grep -qF -- "$3" "$2"; then ok "$1"; else
        bad "$1 ($(basename "$2") lacks '$3')"
        sed 's/^/     /' "$2" | head -5
    fi
}
# finish: the summary line, then exit 0 when nothing failed, else 1
finish() {
    echo "$fails failure(s)"
    [ "$fails" -eq 0 ] && exit 0
    exit 1
}
