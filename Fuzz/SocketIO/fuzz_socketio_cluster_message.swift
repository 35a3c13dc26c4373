// libFuzzer target for the messages of cluster-wide Socket.IO operations between loops and
// processes (SocketIOClusterMessage: socketsJoin, socketsLeave, disconnectSockets, fetchSockets,
// serverSideEmit) and the replies every counted cluster request gets (SocketIOBroadcastAckWire's
// replies, whose counts name a ClusterServer): what arrives on a Redis channel is not ours to trust.
//
// Every input either decodes or is rejected with a DecodingError; nothing may crash. A decoded
// message names a namespace starting with "/", carries a timeout of at most a day, and survives a
// round trip through the encoder; a decoded count names a loop its process has, and feeding it to
// a ClusterTally never makes the tally wait for more servers than processes times loops allow.

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    // Inputs are mostly mutated seeds; prefixing the magic to the others reaches the fields too.
    for bytes in [Array(input), Array("sioQ".utf8) + Array(input)] {
        guard let message = try? SocketIOClusterMessage(decoding: bytes) else { continue }
        check(message.namespace.utf8.first == UInt8(ascii: "/"), "namespace \(message.namespace)")
        check((0...SocketIOClusterMessage.maxTimeoutMilliseconds).contains(message.timeoutMilliseconds), "timeout")
        let again = try? SocketIOClusterMessage(decoding: message.encoded)
        check(again == message, "round trip changed the message")
    }
    var tally = ClusterTally(ownProcess: 1, ownLoops: 2)
    tally.reached(remoteProcesses: 3)
    for bytes in [Array(input), Array("sioR".utf8) + Array(input)] {
        bytes.withUnsafeBytes { b in
            guard let reply = try? SocketIOBroadcastAckWire.decodeReply(b), case .count(let n, let server) = reply.reply else { return }
            check(n >= 0 && (0..<server.processLoops).contains(server.loop), "count \(n) from \(server)")
            check(server.processLoops <= ClusterServer.maxProcessLoops, "loops")
            tally.announce(server, items: n)
        }
    }
    return 0
}
