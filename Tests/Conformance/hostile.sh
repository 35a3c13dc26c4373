#!/usr/bin/env bash
# Hostile input (issue: one request must never crash the process, no client may take unbounded
# memory): each attack a bounded client on loopback, judged by what the server does to everyone
# else: still running, RSS growth inside the stated budget, and a fresh GET /plaintext answered
# within 200 ms during and after the attack. Tests in hostile/; every one bounded in count and time.
# Run against the release build (what users run) unless REACTOR_CONFIGURATION says otherwise.
export REACTOR_CONFIGURATION="${REACTOR_CONFIGURATION:-release}"
exec bash "$(dirname "${BASH_SOURCE[0]}")/lib/pytest-suite.sh" hostile "$@"
