import Reactor
import TLS

/// The `TLSConnection` machine as a reactor connection's transform: ciphertext from the socket in,
/// plaintext to the handler out (a view into the loop's shared buffer), the handler's sends
/// encrypted, close_notify on an orderly close. Also owns the handshake's deadline.
final class TLSTransform: ConnectionTransform {
    let tls: TLSConnection
    let shared: TLSLoopState
    private let loop: EventLoop
    private var handshakeTimer: TimerID?

    init(tls: TLSConnection, connection: Connection, shared: TLSLoopState, handshakeTimeout: Duration) {
        self.tls = tls
        self.shared = shared
        self.loop = connection.loop
        // A closure timer, once per connection, not a per-connection timeout: that one belongs to
        // the handler (an HTTP header timeout), which cannot tell it is behind TLS.
        handshakeTimer = loop.schedule(after: handshakeTimeout) { [weak self] in
            self?.handshakeTimedOut(connection)
        }
    }

    deinit {
        if let handshakeTimer { loop.cancel(handshakeTimer) }
    }

    private func handshakeTimedOut(_ connection: Connection) {
        handshakeTimer = nil
        guard tls.state == .handshaking, connection.isOpen else { return }
        shared.log("\(connection) \(peer(connection)): handshake timed out")
        connection.close(reason: .protocolError("TLS handshake timed out"), flush: false)
    }

    func connection(
        _ connection: Connection, transformInbound input: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer,
        write: (UnsafeRawBufferPointer) -> Void
    ) -> TransformedInput {
        let view = tls.receive(ciphertext: input, prefix: prefix, send: write)
        switch tls.state {
        case .handshaking:
            return TransformedInput(bytes: view)
        case .open, .closing:
            if let timer = handshakeTimer {
                loop.cancel(timer)
                handshakeTimer = nil
            }
            return TransformedInput(bytes: view, morePending: tls.hasPendingInput)
        case .closed:
            return TransformedInput(bytes: view, status: .peerClosed)
        case .failed(let why):
            shared.log("\(connection) \(peer(connection)): \(why)")
            return TransformedInput(bytes: view, status: .failed("TLS: \(why)"))
        }
    }

    func connection(
        _ connection: Connection, transformOutbound bytes: UnsafeRawBufferPointer, write: (UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        tls.send(plaintext: bytes, send: write)
    }

    func connectionWillClose(_ connection: Connection, write: (UnsafeRawBufferPointer) -> Void) {
        tls.close(send: write)
    }

    /// A client speaks first: its ClientHello leaves as soon as the TCP connect completes.
    func connectionWillOpen(_ connection: Connection, write: (UnsafeRawBufferPointer) -> Void) {
        _ = tls.receive(ciphertext: UnsafeRawBufferPointer(start: nil, count: 0), send: write)
    }

    private func peer(_ connection: Connection) -> String {
        connection.peerAddress.map { "\($0)" } ?? "peer"
    }
}
