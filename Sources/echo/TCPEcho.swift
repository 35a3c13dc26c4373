import Reactor

/// Sends every byte back. One handler object serves every connection: echo keeps no state.
final class TCPEchoHandler: ConnectionHandler {
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        connection.send(bytes)
        return bytes.count
    }
}
