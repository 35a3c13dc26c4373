// libFuzzer target for the envelope relayed Socket.IO broadcasts travel in between loops and
// processes (SocketIOBroadcastEnvelope): what arrives on a Redis channel is not ours to trust.
//
// Every input either decodes or is rejected with a DecodingError; nothing may crash. A decoded
// envelope is well formed (a namespace starting with "/", an event packet of that namespace with
// as many attachments as it says) and survives a round trip through the encoder. The wire forms
// of broadcasts asking for acks and of their answers (SocketIOBroadcastAckWire) likewise.

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    // Inputs are mostly mutated seeds; prefixing the magic to the others reaches the fields too.
    for bytes in [Array(input), Array("sio1".utf8) + Array(input)] {
        guard let envelope = try? SocketIOBroadcastEnvelope(decoding: bytes) else { continue }
        check(envelope.namespace.utf8.first == UInt8(ascii: "/"), "namespace \(envelope.namespace)")
        check(SocketIOBroadcastEnvelope.isEvent(envelope.packet, of: envelope.namespace, attachments: envelope.attachments.count),
              "not an event of its namespace")
        let again = try? SocketIOBroadcastEnvelope(decoding: envelope.encoded)
        check(again == envelope, "round trip changed the envelope")
    }
    for bytes in [Array(input), Array("sioA".utf8) + Array(input), Array("sioR".utf8) + Array(input)] {
        bytes.withUnsafeBytes { b in
            if let request = try? SocketIOBroadcastAckWire.decodeRequest(b) {
                let again = SocketIOBroadcastAckWire.encodeRequest(id: request.id, timeoutMilliseconds: request.timeoutMilliseconds,
                                                                   envelope: request.envelope.encoded)
                let back = again.withUnsafeBytes { try? SocketIOBroadcastAckWire.decodeRequest($0) }
                check(back?.id == request.id && back?.envelope == request.envelope, "request round trip")
            }
            if let reply = try? SocketIOBroadcastAckWire.decodeReply(b) {
                let again = SocketIOBroadcastAckWire.encodeReply(id: reply.id, reply.reply)
                let back = again.withUnsafeBytes { try? SocketIOBroadcastAckWire.decodeReply($0) }
                check(back?.id == reply.id && back?.reply == reply.reply, "reply round trip")
            }
        }
    }
    return 0
}
