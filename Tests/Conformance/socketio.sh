#!/usr/bin/env bash
# Socket.IO v5 and Engine.IO v4 (issue: Socket.IO) checked with python-socketio's own client (a real
# client nobody here wrote) on /socket.io/, and with requests and websocket-client speaking raw
# Engine.IO on /engine.io/. Tests in socketio/; the heartbeat is shortened so timeouts show quickly.
#
# The suite runs twice: against the demo on one loop, and on two (`--threads 2`), where the kernel
# spreads connections over both loops and a polling request or an upgrade often lands on the loop
# that does not hold its session (test_loops.py checks both loops are hit). One line per run, then
# the total as the last line.
set -uo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
total_passed=0
total_failed=0
for threads in 1 2; do
    echo "socketio.sh: with --threads $threads" >&2
    out="$(REACTOR_SOCKETIO_THREADS=$threads bash "$HERE/lib/pytest-suite.sh" socketio --threads "$threads" \
        --ping-interval 1000 --ping-timeout 1000 --connect-timeout 3000 --max-payload 100000 "$@")"
    status=$?
    echo "$out" | sed '$d'
    last="$(echo "$out" | tail -n 1)"
    echo "--threads $threads: $last"
    read -r passed _ failed _ <<<"$last"
    [[ "$passed" =~ ^[0-9]+$ ]] || passed=0
    [[ "$failed" =~ ^[0-9]+$ ]] || failed=1
    [ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
