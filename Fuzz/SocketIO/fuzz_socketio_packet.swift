// libFuzzer target for the Socket.IO v5 packet decoder (SocketIOPacketDecoder) and the binary
// reassembly (SocketIOPacketAssembler).
//
// Every input either decodes or is rejected with a SocketIOProtocolError; nothing may crash. A
// decoded packet survives a round trip through the encoder (the same packet comes back, up to
// the binary/plain type, which the encoder derives from the attachments). The assembler is fed
// the input as a text packet followed by attachments cut from the input itself.

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

/// The type the encoder writes for a packet without attachments.
func plain(_ type: SocketIOPacketType) -> SocketIOPacketType {
    switch type {
    case .binaryEvent: .event
    case .binaryAck: .ack
    default: type
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let decoder = SocketIOPacketDecoder()

    if let (packet, count) = try? input.withUnsafeBytes({ try decoder.decode($0) }) {
        check(count >= 0 && count <= decoder.maxAttachments, "attachment count \(count)")
        check(packet.namespace.utf8.first == 0x2F, "namespace \(packet.namespace)")  // bytes: "/" + a combining mark is one Character
        let encoded = SocketIOPacketEncoder.encode(packet)
        guard let (again, againCount) = try? encoded.withUnsafeBytes({ try decoder.decode($0) }) else {
            fatalError("re-encoded packet does not decode: \(String(decoding: encoded, as: UTF8.self))")
        }
        var expected = packet
        expected.type = plain(packet.type)
        check(again == expected, "round trip changed \(packet) into \(again)")
        check(againCount == 0, "a packet without attachments re-encoded with \(againCount)")
    }

    // Reassembly: the input as the header, then up to three attachments sliced from it.
    var assembler = SocketIOPacketAssembler()
    var complete: SocketIOPacket?
    var failed = false
    do {
        complete = try input.withUnsafeBytes { try assembler.receive(text: $0) }
        var offset = 0
        var pieces = 0
        while complete == nil, assembler.isAwaitingAttachments, pieces < 12 {
            let n = min(input.count - offset, Int(input.first ?? 0) % 7)
            let piece = Array(input[offset..<offset + n])
            offset += n
            pieces += 1
            complete = try piece.withUnsafeBytes { try assembler.receive(binary: $0) }
        }
    } catch {
        failed = true
    }
    if let complete {
        check(!failed, "complete and failed")
        check(!assembler.isAwaitingAttachments, "complete but still awaiting")
        if complete.type.isBinary, let values = complete.data?.arrayValue {
            let args = SocketIOArguments(values, attachments: complete.attachments)
            for i in 0..<args.count { _ = args.binary(at: i) }
        }
    }
    return 0
}
