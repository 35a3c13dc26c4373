#!/usr/bin/env bash
# WebSocket conformance of the echo demo, judged by the Python `websockets` client (tests in
# websocket/). The server runs with a 2 MB message limit so the 1009 case stays quick.
exec bash "$(dirname "${BASH_SOURCE[0]}")/lib/pytest-suite.sh" websocket --max-message-size 2000000 "$@"
