/// The loop's side of a `TCPChannel`: each callback enters the channel's isolation synchronously
/// (it runs on the loop's thread, which is the channel's executor; `assumeIsolated` checks it).
final class TCPChannelHandler: ConnectionHandler {
    let channel: TCPChannel

    init(_ channel: TCPChannel) { self.channel = channel }

    func connectionDidOpen(_ connection: Connection) {
        channel.assumeIsolated { $0.didOpen() }
    }

    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) -> Int {
        // The owned copy is made here: borrowed bytes may not cross into the actor's isolation.
        let chunk = [UInt8](bytes)
        channel.assumeIsolated { $0.received(chunk) }
        return bytes.count
    }

    func connectionDidReadEOF(_ connection: Connection) {
        channel.assumeIsolated { $0.receivedEOF() }
    }

    func connectionWritabilityDidChange(_ connection: Connection, isWritable: Bool) {
        channel.assumeIsolated { $0.writabilityChanged(isWritable) }
    }

    func connectionDidClose(_ connection: Connection, reason: CloseReason) {
        channel.assumeIsolated { $0.closed(reason) }
    }
}
