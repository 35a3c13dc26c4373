// reactor-loadgen: the benchmarks' load generator written on the reactor (its client side):
// one thread, one event loop, pinned by the runner to its own CPU. See LoadOptions.usage.
//
//   broadcast  one publisher and N subscribers (chat WebSocket, SSE or Socket.IO) in one room:
//              deliveries/s, publish-to-last-delivery latency (histogram: p50/p99/p99.9),
//              server CPU and RSS per idle subscriber; closed loop (--window) or open loop
//              (--rate, latency from each message's intended send time)
//   idle       RSS per idle WebSocket connection at 10,000 or 100,000 connections
//   sio-setup  Socket.IO connection set-up time, polling-then-upgrade vs websocket only
//   ws-echo-latency  WebSocket echo round trips, open loop at a fixed rate (coordinated-omission
//              aware: each timed from its intended send time), histogram p50/p99/p99.9
import Glibc
import Reactor

let options = LoadOptions.parse(Array(CommandLine.arguments.dropFirst()))
ProcReadings.raiseOpenFileLimit()

switch options.mode {
case .setup:
    SocketIOSetup.run(options)
case .broadcast:
    drive(spinning: options.rate != nil) { try BroadcastRun(loop: $0, options: options) }
case .echoLatency:
    drive(spinning: true) { try EchoLatency(loop: $0, options: options) }
case .idle:
    drive(spinning: false) { try IdleConnections(loop: $0, options: options) }
}
exit(0)
