import Reactor
import Synchronization

/// What a service's setup is handed for each loop: the loop, its place among the others, its
/// pub/sub hub (already joined to the service's relay), and `listen`, which puts every loop on the
/// same port.
///
/// Lives on its loop's thread, like everything the setup makes.
public struct ServiceLoop {
    public let loop: EventLoop
    /// This loop's index, 0 ..< count.
    public let index: Int
    /// How many loops the service runs.
    public let count: Int
    /// This loop's hub: rooms made here reach the other loops' subscribers through the relay.
    public let pubsub: PubSub
    let ports: ListenPorts
    let listenerBox = ListenerBox()

    init(loop: EventLoop, index: Int, count: Int, pubsub: PubSub, ports: ListenPorts) {
        self.loop = loop
        self.index = index
        self.count = count
        self.pubsub = pubsub
        self.ports = ports
    }

    /// Listens on `address` with SO_REUSEPORT when the service has several loops, so each loop
    /// owns a listener on the same port and the kernel spreads connections among them.
    ///
    /// Port 0 picks a free port on loop 0; every other loop's n-th `listen` with port 0 joins the
    /// port loop 0's n-th `listen` got (the loops run the same setup, so the n-th calls match).
    @discardableResult
    public func listen(
        on address: SocketAddress, backlog: Int32 = 1024, v6Only: Bool = true,
        makeHandler: @escaping (Connection) -> any ConnectionHandler
    ) throws(SystemError) -> Listener {
        let call = listenerBox.listeners.count
        var address = address
        if address.port == 0, index > 0, let port = ports.port(ofCall: call) { address = try SocketAddress(ip: address.ip, port: port) }
        let listener = try loop.listen(on: address, backlog: backlog, reusePort: count > 1, v6Only: v6Only, makeHandler: makeHandler)
        if index == 0 { ports.record(listener.address.port, ofCall: call) }
        listenerBox.listeners.append(listener)
        return listener
    }
}

/// The listeners one loop's setup made, in call order.
final class ListenerBox {
    var listeners: [Listener] = []
}

/// The ports loop 0's listen calls got, read by the other loops' setups. They run one after the
/// other (each waits for the previous), but on different threads, so the table is behind a lock.
final class ListenPorts: Sendable {
    private let ports = Mutex<[UInt16]>([])

    func record(_ port: UInt16, ofCall call: Int) {
        ports.withLock { if $0.count == call { $0.append(port) } }
    }

    func port(ofCall call: Int) -> UInt16? {
        ports.withLock { call < $0.count ? $0[call] : nil }
    }
}
