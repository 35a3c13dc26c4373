#!/usr/bin/env bash
# Fault tests (issue: hardening): slowloris, slow consumers, descriptor exhaustion, resets,
# silent connections, graceful shutdown under load. Tests in faults/; every one bounded in time.
exec bash "$(dirname "${BASH_SOURCE[0]}")/lib/pytest-suite.sh" faults --header-timeout 2000 --idle-timeout 3000 "$@"
