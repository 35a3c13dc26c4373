import Glibc
import Reactor

/// RSS per idle WebSocket connection: opens `connections` upgraded connections on `path` and
/// reads the server's VmRSS before and after `idleSeconds`. Beyond 20,000 connections they come
/// from 127.0.0.2, 127.0.0.3, ... in turn: one source address has only about 28,000 ephemeral
/// ports. Warms up first with 64 connections (upgraded and closed), so that buffers the server
/// makes once are not charged to the idle connections.
///
/// The upgrade is the minimal client side of RFC 6455's handshake, with the RFC's example key
/// (the C baseline server answers only that one), and the connection then sits idle: no frame
/// machinery is needed to hold it, and 100,000 of them stay cheap on this side too.
final class IdleConnections: LoadRun {
    let loop: EventLoop
    let options: LoadOptions
    private let address: SocketAddress
    private let request: [UInt8]
    private var sockets: [Connection] = []
    private var opened = 0
    private var started = 0
    private var warmupLeft = 64
    private var rssBefore = -1
    private var upgradeStarted: UInt64 = 0
    private(set) var finished = false
    static let perSourceAddress = 20_000

    init(loop: EventLoop, options: LoadOptions) throws {
        self.loop = loop
        self.options = options
        address = try SocketAddress(ip: options.host, port: options.port)
        request = Array(MinimalUpgrade.request(options.path, host: options.host).utf8)
    }

    func start() throws {
        for _ in 0..<warmupLeft { try loop.connect(to: address, handler: Upgrade(self, warmup: true)) }
    }

    /// One connection: sends the upgrade, checks the 101, then holds (or, warming up, closes).
    final class Upgrade: ConnectionHandler {
        unowned let owner: IdleConnections
        let warmup: Bool
        private var upgraded = false
        init(_ owner: IdleConnections, warmup: Bool) {
            self.owner = owner
            self.warmup = warmup
        }
        func connectionDidOpen(_ c: Connection) { _ = c.send(owner.request) }
        func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
            guard !upgraded else { return bytes.count }  // idle: the server has nothing to say
            guard MinimalUpgrade.answerLength(bytes, what: owner.options.path) != nil else { return 0 }
            upgraded = true
            if warmup {
                c.close()
                owner.warmedUp()
            } else {
                owner.upgraded(c)
            }
            return bytes.count
        }
        func connectionDidClose(_ c: Connection, reason: CloseReason) {
            guard !warmup || !upgraded, !owner.finished else { return }
            die("a connection closed before the end: \(reason)", status: upgraded ? 2 : 3)
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
            let source = 1 + started / Self.perSourceAddress
            started += 1
            do {
                let from = try SocketAddress(ip: "127.0.0.\(source)", port: 0)
                try loop.connect(to: address, from: from, handler: Upgrade(self, warmup: false))
            } catch {
                die("connection \(started): \(error)")
            }
        }
    }

    private func upgraded(_ c: Connection) {
        sockets.append(c)
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
}
