import Reactor
import Synchronization
import TLS

/// TLS for any listener. One per process: its OpenSSL context is shared by every loop. It wraps the
/// `makeHandler` of a `listen` call, so every accepted connection speaks TLS and the handler that
/// closure makes (HTTP server, WebSocket, SSE, Engine.IO...) cannot tell: it reads plaintext as
/// borrowed bytes and its sends are encrypted on their way out (see `ConnectionTransform`).
///
///     let tls = try TLSServer(configuration: TLSConfiguration(certificateChainFile: "cert.pem", privateKeyFile: "key.pem"))
///     try loop.listen(on: address, makeHandler: tls.makeHandler { server.makeHandler(for: $0) })
///
/// Every TLS failure (not TLS at all, a bad record, a refused renegotiation, a handshake that
/// outlasts `handshakeTimeout`) closes that connection alone, with one rate-limited log line.
public final class TLSServer: Sendable {
    /// The certificates new connections get; `reload` swaps it (connections keep the one they began with).
    public var context: TLSContext { current.withLock { $0 } }
    private let current: Mutex<TLSContext>
    private let configuration: TLSConfiguration
    private let alternatives: [TLSConfiguration]
    /// How long a connection may take from accept to a finished handshake.
    public let handshakeTimeout: Duration
    let log: LogSink

    /// - Parameter alternatives: more certificates on the same port, served to clients that ask
    ///   for a name they cover (SNI); everyone else gets `configuration`'s.
    public init(configuration: TLSConfiguration, alternatives: [TLSConfiguration] = [],
                handshakeTimeout: Duration = .seconds(10), log: LogSink = .standardError()) throws(TLSError) {
        self.current = Mutex(try TLSContext(server: configuration, alternatives: alternatives))
        self.configuration = configuration
        self.alternatives = alternatives
        self.handshakeTimeout = handshakeTimeout
        self.log = log
    }

    /// Reads the certificate and key files again (after they were renewed) and serves the new
    /// ones to connections accepted from now on; open connections are not touched. On an error
    /// (a missing file, a key that does not match) the old certificates stay and it throws. Any
    /// thread may call it (a SIGHUP handler on loop 0, say); accepts on every loop see the swap.
    public func reload() throws(TLSError) {
        let fresh = try TLSContext(server: configuration, alternatives: alternatives)
        current.withLock { $0 = fresh }
    }

    /// `make`, with TLS in front of every connection it is given.
    public func makeHandler(
        wrapping make: @escaping (Connection) -> any ConnectionHandler
    ) -> (Connection) -> any ConnectionHandler {
        { c in
            let shared = c.loop.local(TLSLoopState.self) { TLSLoopState(loop: c.loop, log: self.log) }
            do {
                let tls = try TLSConnection(context: self.context, buffers: shared.buffers)  // one lock per accept
                c.setTransform(TLSTransform(tls: tls, connection: c, shared: shared, handshakeTimeout: self.handshakeTimeout))
            } catch {
                shared.log("\(c) no TLS state: \(error)")
                c.close(reason: .protocolError("TLS: \(error)"), flush: false)  // the accept skips it
            }
            return make(c)
        }
    }
}

/// What the TLS connections of one loop share: the decryption and wire buffers, and the log budget.
final class TLSLoopState {
    let buffers: TLSBuffers
    let log: RateLimitedLog

    init(loop: EventLoop, log: LogSink) {
        // The handler's kept input (less than the receive buffer, or the loop closes it) plus one
        // read's plaintext (at most the read, plus a record OpenSSL held from the read before).
        let receive = loop.configuration.receiveBufferSize
        buffers = TLSBuffers(plaintextCapacity: 2 * receive + TLSConnection.maxRecordPlaintext + TLSConnection.maxRecordOverhead)
        self.log = RateLimitedLog(sink: log, level: .info, label: "tls: ", loop: loop)
    }
}
