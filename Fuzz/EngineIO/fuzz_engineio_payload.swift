// libFuzzer target for the Engine.IO v4 polling payload decoder (EngineIOPayload) and the text
// packet decoder (EngineIOPacket.decodeText).
//
// Every input either decodes or is rejected with an EngineIOProtocolError; nothing may crash. A
// payload that decodes is canonical: encoding its packets again gives back the same bytes (base64
// decoding is strict, so there is one spelling of every binary packet), and decoding that again
// gives the same packets. The borrowed decoder and the owned one must agree.

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    // One text packet, as a WebSocket text frame carries it.
    if let (type, rest) = try? input.withUnsafeBytes({ try EngineIOPacket.decodeText($0) }) {
        check(rest.count == input.count - 1, "decodeText data length")
        check(type.digit == input[0], "decodeText type")
    }

    // A whole payload, as a POST body carries it.
    do {
        let packets = try EngineIOPayload.decode(input)
        check(!packets.isEmpty, "a decoded payload has packets")
        let encoded = EngineIOPayload.encode(packets)
        check(encoded == input, "re-encoding a decoded payload changed it")
        check((try? EngineIOPayload.decode(encoded)) == packets, "decode(encode(packets)) differs")
        var streamed = 0
        try input.withUnsafeBytes { b in
            try EngineIOPayload.decode(b) { element in
                switch element {
                case .text(let type, let d): check(packets[streamed] == EngineIOPacket(type, data: Array(d)), "borrowed text differs")
                case .binary(let d): check(packets[streamed] == .binary(Array(d)), "borrowed binary differs")
                }
                streamed += 1
            }
        }
        check(streamed == packets.count, "borrowed decoder delivered \(streamed) of \(packets.count)")
        check((try? EngineIOPayload.decode(input, maxPackets: packets.count - 1)) == nil || packets.count == 0, "maxPackets not enforced")
    } catch {
        // Rejected: the error is the outcome. The borrowed decoder must reject it too, delivering nothing.
        var delivered = 0
        let rejected = (try? input.withUnsafeBytes { b in try EngineIOPayload.decode(b) { _ in delivered += 1 } }) == nil
        check(rejected && delivered == 0, "borrowed decoder accepted what the owned one rejected")
    }
    return 0
}
