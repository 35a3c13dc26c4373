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
    do {
        let loop = try EventLoop()
        let run = try BroadcastRun(loop: loop, options: options)
        try run.start()
        if options.rate != nil {
            // Open loop: spin so that messages leave on schedule (see BroadcastRun.tick).
            while loop.runOnce(timeout: .zero) { run.tick() }
            loop.close()
        } else {
            loop.run()
        }
    } catch {
        die("\(error)")
    }
case .echoLatency:
    do {
        let loop = try EventLoop()
        let run = try EchoLatency(loop: loop, options: options)
        try run.start()
        // Spins on its own CPU so that sends leave on schedule to the microsecond.
        while loop.runOnce(timeout: .zero) { run.tick() }
        loop.close()
    } catch {
        die("\(error)")
    }
case .idle:
    do {
        let loop = try EventLoop()
        let idle = try IdleConnections(loop: loop, options: options)
        try idle.start()
        loop.run()
    } catch {
        die("\(error)")
    }
}
exit(0)
