import Glibc
import Protocols
import Reactor

/// RSS per idle WebSocket connection: opens `connections` upgraded connections on `path` and
/// reads the server's VmRSS before and after (then again after `idleSeconds`). Beyond 20,000
/// connections they come from 127.0.0.2, 127.0.0.3, ... in turn: one source address has only
/// about 28,000 ephemeral ports. Warms up first with 64 connections (upgraded and closed), so
/// that buffers the server makes once are not charged to the idle connections.
final class IdleConnections: WebSocketHandler {
    let loop: EventLoop
    let options: LoadOptions
    private let address: SocketAddress
    private var sockets: [WebSocket] = []
    private var opened = 0
    private var started = 0
    private var warmupLeft = 64
    private var rssBefore = -1
    private var upgradeStarted: UInt64 = 0
    private var finished = false
    static let perSourceAddress = 20_000

    init(loop: EventLoop, options: LoadOptions) throws {
        self.loop = loop
        self.options = options
        address = try SocketAddress(ip: options.host, port: options.port)
    }

    func start() throws {
        for _ in 0..<warmupLeft {
            try WebSocket.connect(loop: loop, to: address, host: options.host, path: options.path, handler: WarmupSocket(self))
        }
    }

    /// A warm-up connection: closed as soon as it is upgraded.
    final class WarmupSocket: WebSocketHandler {
        unowned let owner: IdleConnections
        init(_ owner: IdleConnections) { self.owner = owner }
        func webSocketDidOpen(_ ws: WebSocket) {
            ws.close()
            owner.warmedUp()
        }
    }

    private func warmedUp() {
        warmupLeft -= 1
        guard warmupLeft == 0 else { return }
        _ = loop.schedule(after: .milliseconds(500)) { [unowned self] in
            rssBefore = ProcReadings.rssKiB(of: options.serverPID)
            upgradeStarted = ProcReadings.monotonicNanoseconds()
            openMore()
        }
    }

    private func openMore() {
        while started < options.connections && started - opened < options.parallelConnects {
            let source = UInt8(1 + started / Self.perSourceAddress)
            started += 1
            do {
                let from = try SocketAddress(ip: "127.0.0.\(source)", port: 0)
                _ = try WebSocket.connect(loop: loop, to: address, from: from, host: options.host, path: options.path, handler: self)
            } catch {
                die("connection \(started): \(error)")
            }
        }
    }

    func webSocketDidOpen(_ ws: WebSocket) {
        sockets.append(ws)
        opened += 1
        openMore()
        guard opened == options.connections else { return }
        let seconds = Double(ProcReadings.monotonicNanoseconds() - upgradeStarted) / 1e9
        _ = loop.schedule(after: .milliseconds(Int64(options.idleSeconds * 1000))) { [unowned self] in
            let after = ProcReadings.rssKiB(of: options.serverPID)
            output("conns=\(opened) rss_before_kb=\(rssBefore) rss_upgraded_kb=\(after) upgrade_seconds=\(fmt(seconds, 3)) "
                   + "bytes_per_conn=\(fmt(Double(after - rssBefore) * 1024 / Double(opened), 1))")
            finished = true
            loop.stop()
        }
    }

    func webSocketDidClose(_ ws: WebSocket, code: WebSocketCloseCode, reason: String) {
        guard !finished else { return }
        die("an idle connection closed: \(code.rawValue) \(reason)", status: 2)
    }
}
