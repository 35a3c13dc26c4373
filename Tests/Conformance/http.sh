#!/usr/bin/env bash
# HTTP/1.1 conformance of the echo demo, judged by parsers nobody here wrote: h11 reads every byte
# the server sends on raw sockets, httpx drives the high-level client path (tests in http/).
exec bash "$(dirname "${BASH_SOURCE[0]}")/lib/pytest-suite.sh" http "$@"
