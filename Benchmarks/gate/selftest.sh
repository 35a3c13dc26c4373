#!/usr/bin/env bash
# The gate, then a test of the gate itself: it must pass on the committed budgets and fail on
# a regression, whether the regression is a budget set below what the tree costs or real extra
# work in the server. Run from anywhere; prints "N passed, N failed" and exits non-zero if any
# case did not end as it must (CI: .ci/run's gate stage).
#
#   1. the gate: every path against gate/budgets.txt                   must exit 0
#   2. instruction budgets 10% under the committed ones (2 paths)       must exit 1, "instructions"
#   3. instruction budgets 1% under (2 paths): within the tolerance     must exit 0
#   4. the SSE path allowed one allocation fewer per publish            must exit 1, "allocations"
#   5. a real regression: gate/regression.c preloaded into the server
#      (~6,000 instructions and one malloc per loop turn; 2 paths)      must exit 1, both named
#   6. a malformed budget file                                          must exit 2 at once
#
# About 75 s on the 2-core machine once built, the gate's own run about 35 s of it.
set -uo pipefail
bench_dir="$(cd "$(dirname "$0")/.." && pwd)"
budgets="$bench_dir/gate/budgets.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

swift build -c release --package-path "$bench_dir" --product bench >/dev/null || { echo "cannot build bench"; exit 2; }
bench="$(swift build -c release --package-path "$bench_dir" --show-bin-path)/bench"

passed=0
failed=0
# check NAME EXPECTED_STATUS "WORDS THE OUTPUT MUST HOLD" -- bench gate arguments...
check() {
    local name="$1" want="$2" words="$3"
    shift 4
    echo "== gate self-test: $name"
    "$bench" gate "$@" >"$work/out" 2>&1
    local got=$?
    cat "$work/out"
    local ok=1
    [ "$got" = "$want" ] || { ok=0; echo "   expected exit status $want, got $got"; }
    local word
    for word in $words; do
        grep -q -- "$word" "$work/out" || { ok=0; echo "   expected the output to name \"$word\""; }
    done
    if [ $ok = 1 ]; then
        passed=$((passed + 1)); echo "PASS: $name"
    else
        failed=$((failed + 1)); echo "FAIL: $name"
    fi
}

check "the committed budgets hold" 0 "within" -- --budgets "$budgets"

# Every instruction budget 10% under the committed figure: the tree did not change, so a gate
# with a 3% tolerance must see every path as a regression.
awk '/^#/ || NF < 3 { print; next } { $2 = int($2 * 0.9); print }' "$budgets" >"$work/lower-ir.txt"
check "instruction budgets 10% lower fail" 1 "OVER: instructions http-get http-pipelined" -- \
    --budgets "$work/lower-ir.txt" http-get http-pipelined

# ... but 1% lower is within the tolerance: the gate does not fail on noise.
awk '/^#/ || NF < 3 { print; next } { $2 = int($2 * 0.99); print }' "$budgets" >"$work/lower-1pc.txt"
check "instruction budgets 1% lower still pass" 0 "within" -- --budgets "$work/lower-1pc.txt" http-get http-pipelined

# One allocation fewer per publish than the SSE path makes (16 deliveries per publish).
awk '/^#/ || NF < 3 { print; next } $1 == "sse" { $3 = $3 - 1 / 16 } { print }' "$budgets" >"$work/lower-allocs.txt"
check "an allocation budget one under fails" 1 "OVER: allocations sse" -- \
    --budgets "$work/lower-allocs.txt" sse

check "a real regression in the server fails" 1 "instructions allocations http-get ws-echo-32" -- \
    --budgets "$budgets" --inject-regression http-get ws-echo-32

printf 'http-get 7000\n' >"$work/malformed.txt"
check "a malformed budget file is refused before measuring" 2 "expected" -- --budgets "$work/malformed.txt"

echo "gate self-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
