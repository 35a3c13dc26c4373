import Reactor
import TLS

/// TLS for outbound connections (`wss://`, `rediss://`): a client context (which CAs to trust)
/// and the handshake deadline. Share one per process; `attach` puts a client TLS machine in front
/// of a connection just made with `EventLoop.connect`, before it opens: its handler then reads and
/// writes plaintext, unaware.
public final class TLSClient: Sendable {
    public let context: TLSContext
    public let handshakeTimeout: Duration
    let log: LogSink

    /// - Parameter configuration: the CA file to trust (nil: the system trust store).
    public init(configuration: TLSClientConfiguration = TLSClientConfiguration(),
                handshakeTimeout: Duration = .seconds(10), log: LogSink = .standardError()) throws(TLSError) {
        self.context = try TLSContext(client: configuration)
        self.handshakeTimeout = handshakeTimeout
        self.log = log
    }

    /// Speaks TLS on `connection` (not yet open): SNI and the certificate check use `serverName`
    /// (a DNS name; the check fails for a certificate that does not cover it). A failure to set up
    /// closes the connection, which its handler hears as usual.
    public func attach(to connection: Connection, serverName: String) {
        let shared = connection.loop.local(TLSLoopState.self) { TLSLoopState(loop: connection.loop, log: log) }
        do {
            let tls = try TLSConnection(context: context, buffers: shared.buffers, serverName: serverName)
            connection.setTransform(TLSTransform(tls: tls, connection: connection, shared: shared,
                                                 handshakeTimeout: handshakeTimeout))
        } catch {
            shared.log("\(connection) no TLS state: \(error)")
            connection.close(reason: .protocolError("TLS: \(error)"), flush: false)
        }
    }
}
