/// Why an acknowledgement did not come: an outcome of the protocol (an ACK packet that never
/// arrived), so it lives beside the packets; the socket in Connections reports it.
public enum SocketIOAckError: Error, Sendable, Hashable {
    /// No ACK within the timeout.
    case timeout
    /// The socket disconnected first.
    case disconnected
}
