/// Why a connection closed: passed to `connectionDidClose` and logged by applications.
public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
    /// The application called `close()`.
    case local
    /// The peer closed its side and the handler did not keep the connection half-open.
    case peerClosed
    /// The peer reset the connection (ECONNRESET, EPIPE).
    case reset
    /// A read or write failed with this errno.
    case error(Int32)
    /// The connection's timeout fired and the handler did not override `connectionDidTimeout`.
    case timeout
    /// The handler left more unconsumed input than the receive buffer holds.
    case inputOverflow
    /// The outbound queue grew past `maxQueuedBytes`.
    case slowConsumer
    /// An outbound connect failed with this errno.
    case connectFailed(Int32)
    /// The loop shut down.
    case shutdown
    /// A protocol closed it, with a reason for the log.
    case protocolError(String)

    public var description: String {
        switch self {
        case .local: "closed locally"
        case .peerClosed: "peer closed"
        case .reset: "connection reset by peer"
        case .error(let e): "I/O error \(SystemError(errno: e, call: "io"))"
        case .timeout: "timed out"
        case .inputOverflow: "unconsumed input exceeded the receive buffer"
        case .slowConsumer: "outbound queue exceeded its limit (slow consumer)"
        case .connectFailed(let e): "connect failed: \(SystemError(errno: e, call: "connect"))"
        case .shutdown: "server shutting down"
        case .protocolError(let why): "protocol error: \(why)"
        }
    }
}

/// What a connection tells its owner. All calls come on the loop's thread.
///
/// The handler type is stored once per connection (at accept or connect) and called through the
/// protocol; it may be one object shared by many connections (a stateless echo) or one per
/// connection (a protocol state machine).
public protocol ConnectionHandler: AnyObject {
    /// The connection is established (accepted, or an outbound connect completed).
    func connectionDidOpen(_ connection: Connection)

    /// Bytes arrived. `bytes` is borrowed from the loop's receive buffer and valid only during this
    /// call. Return how many leading bytes were consumed; the rest is kept (copied into a small
    /// per-connection buffer) and presented again, followed by the next bytes read.
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int

    /// The peer shut down its sending side. The default closes the connection once the outbound
    /// queue is flushed; override it to keep writing to a half-closed connection.
    func connectionDidReadEOF(_ connection: Connection)

    /// The outbound queue crossed a watermark: false above high, true again at or below low.
    func connectionWritabilityDidChange(_ connection: Connection, isWritable: Bool)

    /// The timeout set with `Connection.setTimeout` expired. The default closes with `.timeout`.
    func connectionDidTimeout(_ connection: Connection)

    /// The loop is shutting down gracefully: finish what is in flight and close. The default
    /// closes at once (after flushing).
    func connectionShouldShutdown(_ connection: Connection)

    /// The connection is closed and its descriptor released; the handle is stale from now on.
    func connectionDidClose(_ connection: Connection, reason: CloseReason)
}

extension ConnectionHandler {
    public func connectionDidOpen(_ connection: Connection) {}
    public func connectionDidReadEOF(_ connection: Connection) { connection.close(reason: .peerClosed) }
    public func connectionWritabilityDidChange(_ connection: Connection, isWritable: Bool) {}
    public func connectionDidTimeout(_ connection: Connection) { connection.close(reason: .timeout, flush: false) }
    public func connectionShouldShutdown(_ connection: Connection) { connection.close(reason: .shutdown) }
    public func connectionDidClose(_ connection: Connection, reason: CloseReason) {}
}
