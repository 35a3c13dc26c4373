#!/usr/bin/env bash
# Profiles a running server with the software CPU clock (these VMs expose no hardware counters)
# and writes a flame graph SVG plus the folded stacks.
#
#   scripts/flamegraph.sh PID [seconds=10] [out=flame.svg]
#
# Typical use: start `swift run -c release echo`, put load on it (wrk, or a Benchmarks scenario),
# then run this against the server's PID. Release builds keep their symbols; stacks come from
# DWARF unwinding, so frame pointers are not required.
set -euo pipefail
pid="${1:?usage: flamegraph.sh PID [seconds] [out.svg]}"
seconds="${2:-10}"
out="${3:-flame.svg}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v perf >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq linux-perf >/dev/null; }
data="$(mktemp -d)/perf.data"
perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$pid" -o "$data" -- sleep "$seconds" 2>/dev/null
perf script -i "$data" 2>/dev/null | python3 "$here/flamegraph.py" --title "$(cat /proc/$pid/comm 2>/dev/null || echo pid $pid): cpu-clock, ${seconds}s" --folded "${out%.svg}.folded" > "$out"
echo "flame graph: $out (folded stacks: ${out%.svg}.folded)"
