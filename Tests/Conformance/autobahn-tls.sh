#!/usr/bin/env bash
# Autobahn|Testsuite cases 1.* to 10.* over wss:// against the echo demo with --tls-cert/--tls-key
# (see autobahn.sh, "--tls"). Prints `N passed, N failed` as the other suites.
exec bash "$(dirname "${BASH_SOURCE[0]}")/autobahn.sh" --tls "$@"
