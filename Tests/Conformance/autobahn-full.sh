#!/usr/bin/env bash
# Every Autobahn|Testsuite fuzzingclient case, 1.* to 13.*, against the echo demo server: the CI
# selection of autobahn.sh plus all of 12.* and 13.* (permessage-deflate), which take tens of
# minutes. Same output, exit status and environment as autobahn.sh (see there).
#
# .ci/run runs every Tests/Conformance/*.sh, this one too: under CI (CI=true) it steps aside, since
# autobahn.sh already runs the CI selection there, unless REACTOR_AUTOBAHN_FULL=1 asks for it.
set -euo pipefail
if [ "${CI:-}" = true ] && [ "${REACTOR_AUTOBAHN_FULL:-0}" != 1 ]; then
    echo "autobahn-full.sh: skipped under CI (autobahn.sh runs the CI selection); REACTOR_AUTOBAHN_FULL=1 runs it" >&2
    exit 0
fi
exec bash "$(dirname "${BASH_SOURCE[0]}")/autobahn.sh" --full "$@"
