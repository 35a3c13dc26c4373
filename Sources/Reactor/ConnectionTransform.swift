/// Sits between a connection's socket and its handler, invisible to the handler: what is read is
/// transformed before the handler sees it, and what the handler sends is transformed before the
/// kernel sees it. TLS is the one user (`Connections` binds the `TLS` machine to it); the loop
/// names no protocol.
///
/// The loop calls it on its thread only. Bytes it hands to `write` go to the socket as they are
/// (in order with everything else written for the connection, queued if the kernel does not take
/// them): handshake records, alerts, encrypted data.
public protocol ConnectionTransform: AnyObject {
    /// Bytes read from the socket (`input`, borrowed from the receive buffer; empty when the loop
    /// asks for input the transform held back, see `TransformedInput.morePending`). Returns the
    /// handler's input: a copy of `prefix` (what the handler left unconsumed last time) followed
    /// by what `input` yielded, as one view the transform owns, valid until the next call on
    /// this loop.
    func connection(
        _ connection: Connection, transformInbound input: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer,
        write: (UnsafeRawBufferPointer) -> Void
    ) -> TransformedInput

    /// Bytes the handler sends (borrowed for the call). Returns false when the transform cannot
    /// send any more (closing, failed): the bytes are dropped.
    func connection(
        _ connection: Connection, transformOutbound bytes: UnsafeRawBufferPointer, write: (UnsafeRawBufferPointer) -> Void
    ) -> Bool

    /// The connection is closing in order (a `close` with flush): last words for the peer (TLS
    /// close_notify) go to `write`, ahead of the close.
    func connectionWillClose(_ connection: Connection, write: (UnsafeRawBufferPointer) -> Void)

    /// An outbound connect completed, before the handler hears `connectionDidOpen`: the first
    /// words of the side that speaks first (a TLS ClientHello) go to `write`. The default says
    /// nothing (an accepted connection waits for its peer).
    func connectionWillOpen(_ connection: Connection, write: (UnsafeRawBufferPointer) -> Void)
}

extension ConnectionTransform {
    public func connectionWillOpen(_ connection: Connection, write: (UnsafeRawBufferPointer) -> Void) {}
}

/// What one inbound transformation gave the loop.
public struct TransformedInput {
    public enum Status: Equatable {
        /// Go on reading.
        case open
        /// The peer ended its side in order (TLS close_notify): like an EOF, after `bytes`.
        case peerClosed
        /// The input was not acceptable: the loop closes the connection at once with this reason
        /// (whatever the transform gave `write` first, an alert, is sent if the kernel takes it).
        case failed(String)
    }

    /// The handler's input: the prefix, then the new bytes.
    public var bytes: UnsafeRawBufferPointer
    public var status: Status
    /// The transform holds input it could not fit in `bytes`: the loop calls again (with empty
    /// input) later in this iteration.
    public var morePending: Bool

    public init(bytes: UnsafeRawBufferPointer, status: Status = .open, morePending: Bool = false) {
        self.bytes = bytes
        self.status = status
        self.morePending = morePending
    }
}
