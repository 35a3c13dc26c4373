#!/usr/bin/env bash
# Socket.IO v5 and Engine.IO v4 (issue: Socket.IO) checked with python-socketio's own client (a real
# client nobody here wrote) on /socket.io/, and with requests and websocket-client speaking raw
# Engine.IO on /engine.io/. Tests in socketio/; the heartbeat is shortened so timeouts show quickly.
exec bash "$(dirname "${BASH_SOURCE[0]}")/lib/pytest-suite.sh" socketio \
    --ping-interval 1000 --ping-timeout 1000 --connect-timeout 3000 --max-payload 100000 "$@"
