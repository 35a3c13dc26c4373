// libFuzzer target for the envelope relayed Socket.IO broadcasts travel in between loops and
// processes (SocketIOBroadcastEnvelope): what arrives on a Redis channel is not ours to trust.
//
// Every input either decodes or is rejected with a DecodingError; nothing may crash. A decoded
// envelope is well formed (a namespace starting with "/", an event packet of that namespace with
// as many attachments as it says) and survives a round trip through the encoder.

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
    return 0
}
