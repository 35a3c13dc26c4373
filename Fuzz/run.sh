#!/usr/bin/env bash
# Builds and runs every libFuzzer target: Fuzz/<Protocol>/fuzz_*.swift is compiled together with
# Sources/Protocols/<Protocol>/*.swift into one binary. Sources/Protocols is the sans-I/O target:
# it cannot import Reactor (the glue to the loop is Sources/Connections), so any of its files can
# be fuzzed without a socket.
#
#   Fuzz/run.sh [seconds-per-target]      default 60
#   FUZZ_ONLY='HTTPRequest/*' Fuzz/run.sh 10   only the targets matching <folder>/<target>
#   FUZZ_ONLY=HTTPRequest Fuzz/run.sh 10       a bare folder name: all of that folder's targets
#
# Binaries, the growing corpus and crash artifacts go to $FUZZ_BUILD_DIR (default .build-fuzz,
# ignored by git); the seed corpus in Fuzz/<Protocol>/corpus is read, never written. Exits
# non-zero if a target fails to build or any run finds a crash, leak or timeout.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/.build-fuzz}"
status=0
# A pattern with no slash names a folder: "HTTPRequest" means "HTTPRequest/*" (it used to match
# no <folder>/<target> at all and run nothing, successfully).
only="${FUZZ_ONLY:-*}"
case "$only" in */*) ;; *) only="$only/*" ;; esac
matched=0
# The Swift runtime backtracer itself trips ASan after a fatalError; libFuzzer prints the stack.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"

for dir in "$root"/Fuzz/*/; do
    proto="$(basename "$dir")"
    # A folder whose fuzzer needs files of other protocols, or only some of its own (the
    # WebSocket files but zlib), lists them in sources.txt, one path (or glob) per line relative
    # to the root.
    if [ -f "$dir/sources.txt" ]; then
        sources=()
        while read -r f; do
            [ -n "$f" ] || continue
            for g in "$root"/$f; do sources+=("$g"); done
        done < "$dir/sources.txt"
    else
        sources=("$root/Sources/Protocols/$proto"/*.swift)
    fi
    # Small helpers every protocol may use (hex digits, FNV-1a) go into every target.
    sources+=("$root"/Sources/Protocols/Shared/*.swift)
    # C modules the sources import, from cmodules.txt: one per line, its name under Sources/
    # then the libraries it links, as in Package.swift ("CZlib z": permessage-deflate needs zlib).
    # A system library folder (Sources/<module>/module.modulemap) is used as it is; a C target's
    # include/ holds the umbrella header, for which a module map is written here.
    cflags=()
    if [ -f "$dir/cmodules.txt" ]; then
        while read -r module libs; do
            [ -n "$module" ] || continue
            if [ -f "$root/Sources/$module/module.modulemap" ]; then
                cflags+=(-I "$root/Sources/$module")
            else
                map="$build/modulemaps/$module"
                mkdir -p "$map"
                headers=("$root/Sources/$module/include"/*.h)
                printf 'module %s {\n    header "%s"\n    export *\n}\n' "$module" "${headers[0]}" > "$map/module.modulemap"
                cflags+=(-I "$map")
            fi
            for lib in $libs; do cflags+=("-l$lib"); done
        done < "$dir/cmodules.txt"
    fi
    for target in "$dir"fuzz_*.swift; do
        [ -e "$target" ] || continue
        name="$(basename "$target" .swift)"
        # FUZZ_ONLY=<glob> runs only the matching targets ("WebSocketDeflate/*", "*/fuzz_query").
        case "$proto/$name" in $only) matched=$((matched + 1)) ;; *) continue ;; esac
        out="$build/$proto"
        mkdir -p "$out/corpus-$name" "$out/artifacts"
        # The seed corpus: the target's own (corpus-<target>/) when it has one, else the folder's.
        corpus="$dir"corpus
        [ -d "$dir"corpus-"$name" ] && corpus="$dir"corpus-"$name"
        echo "== building $proto/$name"
        # -O -wmo for speed (inlining across files, as in SwiftPM release builds), with assert()
        # kept (assert-config Debug): the sources' own invariants are part of what is checked.
        # -package-name: sources use `package` access, as SwiftPM builds them (package "Reactor").
        # lld: gold warns about every ASan symbol. Run from the output folder: with -wmo -g the
        # driver leaves module files in the current directory.
        (cd "$out" && swiftc -sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -wmo -g \
            -Xfrontend -assert-config -Xfrontend Debug -use-ld=lld \
            ${cflags[@]+"${cflags[@]}"} -package-name Reactor -module-name "${proto}Fuzz" "${sources[@]}" "$target" -o "$out/$name")
        # The target's own dictionary (<target>.dict), else the folder's (any other .dict).
        dict=()
        if [ -e "$dir$name.dict" ]; then
            dict=("-dict=$dir$name.dict")
        else
            for d in "$dir"*.dict; do
                case "$(basename "$d")" in fuzz_*) continue ;; esac
                [ -e "$d" ] && dict=("-dict=$d")
            done
        fi
        echo "== running $proto/$name for ${seconds}s"
        if ! "$out/$name" ${dict[@]+"${dict[@]}"} -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" \
            "$out/corpus-$name" "$corpus"; then
            echo "!! $proto/$name failed; artifacts in $out/artifacts" >&2
            status=1
        fi
    done
done
if [ "$matched" -eq 0 ]; then
    echo "!! no fuzz target matches FUZZ_ONLY='${FUZZ_ONLY:-}' (<folder>/<target>, or a folder name)" >&2
    exit 2
fi
exit "$status"
