#!/usr/bin/env bash
# Builds and runs every libFuzzer target: Fuzz/<Protocol>/fuzz_*.swift is compiled together with
# Sources/Protocols/<Protocol>/*.swift (which therefore must not import Reactor) into one binary.
#
#   Fuzz/run.sh [seconds-per-target]      default 60
#
# Binaries, the growing corpus and crash artifacts go to $FUZZ_BUILD_DIR (default .build-fuzz,
# ignored by git); the seed corpus in Fuzz/<Protocol>/corpus is read, never written. Exits
# non-zero if a target fails to build or any run finds a crash, leak or timeout.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/.build-fuzz}"
status=0
# The Swift runtime backtracer itself trips ASan after a fatalError; libFuzzer prints the stack.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"

for dir in "$root"/Fuzz/*/; do
    proto="$(basename "$dir")"
    # A folder whose sources reach beyond the sans-I/O core (the WebSocket glue imports Reactor)
    # lists the files its fuzzer needs in sources.txt, one path per line relative to the root.
    if [ -f "$dir/sources.txt" ]; then
        sources=()
        while read -r f; do [ -n "$f" ] && sources+=("$root/$f"); done < "$dir/sources.txt"
    else
        sources=("$root/Sources/Protocols/$proto"/*.swift)
    fi
    for target in "$dir"fuzz_*.swift; do
        [ -e "$target" ] || continue
        name="$(basename "$target" .swift)"
        out="$build/$proto"
        mkdir -p "$out/corpus-$name" "$out/artifacts"
        echo "== building $proto/$name"
        # -O -wmo for speed (inlining across files, as in SwiftPM release builds), with assert()
        # kept (assert-config Debug): the sources' own invariants are part of what is checked.
        # lld: gold warns about every ASan symbol. Run from the output folder: with -wmo -g the
        # driver leaves module files in the current directory.
        (cd "$out" && swiftc -sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -wmo -g \
            -Xfrontend -assert-config -Xfrontend Debug -use-ld=lld \
            -module-name "${proto}Fuzz" "${sources[@]}" "$target" -o "$out/$name")
        dict=()
        for d in "$dir"*.dict; do [ -e "$d" ] && dict=("-dict=$d"); done
        echo "== running $proto/$name for ${seconds}s"
        if ! "$out/$name" ${dict[@]+"${dict[@]}"} -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" \
            "$out/corpus-$name" "$dir"corpus; then
            echo "!! $proto/$name failed; artifacts in $out/artifacts" >&2
            status=1
        fi
    done
done
exit "$status"
