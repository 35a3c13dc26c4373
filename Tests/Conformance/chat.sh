#!/usr/bin/env bash
# The chat's wire contract (SSE, polling, long polling, WebSocket rooms) checked with httpx,
# httpx-sse and websockets (tests in chat/).
exec bash "$(dirname "${BASH_SOURCE[0]}")/lib/pytest-suite.sh" chat "$@"
