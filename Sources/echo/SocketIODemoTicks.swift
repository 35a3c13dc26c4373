import Connections
import Protocols
import Reactor

/// The demo's `volatile-ticks`: volatile broadcasts to the sender's namespace, one per
/// millisecond, for a client that does not read to miss (and the others to get), then a
/// `ticks-done` that is not volatile. Bounded: 5000 ticks of at most 16 KiB, one run per socket
/// (the run is the socket's `context` while it lasts).
final class VolatileTicks {
    private weak var socket: SocketIOSocket?
    private let count: Int
    private let payload: JSONValue
    private let ack: SocketIOAck?
    private var sent = 0

    private init(socket: SocketIOSocket, count: Int, size: Int, ack: SocketIOAck?) {
        self.socket = socket
        self.count = count
        self.payload = .string(String(repeating: "x", count: size))
        self.ack = ack
    }

    static func start(on socket: SocketIOSocket, count: Int, size: Int, ack: SocketIOAck?) {
        guard !(socket.context is VolatileTicks) else { return ack?(["ok": false, "error": "already running"]) ?? () }
        let run = VolatileTicks(socket: socket, count: max(1, min(count, 5000)), size: max(0, min(size, 16384)), ack: ack)
        socket.context = run
        run.tick()
    }

    private func tick() {
        guard let socket, socket.connected else { return }
        let namespace = socket.namespace
        namespace.volatile.emit("tick", [.int(Int64(sent)), payload])
        sent += 1
        guard sent == count else {
            _ = namespace.server.loop.schedule(after: .milliseconds(1)) { [self] in tick() }
            return
        }
        socket.context = nil
        namespace.emit("ticks-done", ["count": .int(Int64(count))])
        ack?(["ok": true, "count": .int(Int64(count))])
    }
}
