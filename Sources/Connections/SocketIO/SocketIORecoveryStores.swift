import Protocols
import Reactor
import Synchronization

/// Connection state recovery's state for every namespace, shared by the loops of a process: one
/// packet log and one offset sequence per namespace, so a client that drops from one loop and
/// comes back on another (the kernel spreads its new connection as it likes) finds its session,
/// and the offsets it saw mean the same everywhere.
///
/// Shared by every copy of one `SocketIOConnectionStateRecovery` value: give every loop's server
/// the same configuration value (made once, before the loops' setups) and they share it. A
/// broadcast is logged once, by the loop that makes it, and travels to the other loops with its
/// offset already in its text. The lock is taken once per logged packet (every event without an
/// ack, while recovery is on), per dropped socket and per recovery attempt; never with recovery
/// off.
public final class SocketIORecoveryStores: Sendable {
    private let stores = Mutex<[String: SocketIORecoveryStore]>([:])

    public init() {}

    /// Runs `body` with namespace `name`'s store (made with `limits` on first use).
    func with<T: Sendable>(_ name: String, limits: SocketIORecoveryStore.Limits, _ body: (inout SocketIORecoveryStore) -> T) -> T {
        stores.withLock { all in
            if all[name] == nil { all[name] = SocketIORecoveryStore(limits: limits) }
            return body(&all[name]!)
        }
    }

    /// What namespace `name` keeps now: packets and their bytes, dropped sessions and their bytes.
    public func state(of name: String) -> (packets: Int, packetBytes: Int, sessions: Int, sessionBytes: Int)? {
        stores.withLock { all in all[name].map { ($0.packetCount, $0.packetBytes, $0.sessionCount, $0.sessionBytes) } }
    }
}
