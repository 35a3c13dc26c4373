#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer and/or ThreadSanitizer, each in its own build
# folder (sanitized objects cannot share one with plain builds).
#
#   scripts/sanitizers.sh            address, then thread
#   scripts/sanitizers.sh address    only AddressSanitizer (what .ci/run uses)
#   scripts/sanitizers.sh thread     only ThreadSanitizer
#
# Exits non-zero if any run fails; prints `N passed, N failed` over the sanitizer runs.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(address thread)

passed=0
failed=0
for kind in "${kinds[@]}"; do
    case "$kind" in address|thread) ;; *) echo "unknown sanitizer '$kind' (address or thread)" >&2; exit 2 ;; esac
    echo "== swift test -sanitize=$kind"
    # The Swift runtime's backtracer and the sanitizers both want the crash; let the sanitizer
    # report it. halt_on_error makes TSan fail the run on the first race instead of only logging.
    if SWIFT_BACKTRACE=enable=no TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ASAN_OPTIONS="detect_leaks=0" \
        swift test --sanitize="$kind" --scratch-path "$root/.build-$kind"; then
        passed=$((passed + 1))
    else
        echo "!! the test suite failed under -sanitize=$kind" >&2
        failed=$((failed + 1))
    fi
done
echo "sanitizers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
