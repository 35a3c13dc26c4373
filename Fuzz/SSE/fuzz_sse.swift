// libFuzzer target for the SSE pieces a client can influence: the Last-Event-ID parser (checked
// against the standard library's integer parsing) and the event encoder (whatever the data, the
// encoded event must decode, by the WHATWG rules, to the same text with line breaks as "\n", and
// id/event fields must never smuggle a line break).

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

/// The WHATWG event-stream interpretation, reduced to what one encoded event needs.
func decode(_ stream: [UInt8]) -> (data: [UInt8]?, id: [UInt8]?, event: [UInt8]?, blankLines: Int) {
    var data: [UInt8]? = nil
    var id: [UInt8]? = nil
    var event: [UInt8]? = nil
    var blank = 0
    var i = 0
    while i < stream.count {
        var j = i
        while j < stream.count && stream[j] != 0x0A && stream[j] != 0x0D { j += 1 }
        let line = Array(stream[i..<j])
        if j < stream.count && stream[j] == 0x0D && j + 1 < stream.count && stream[j + 1] == 0x0A { j += 1 }
        i = j + 1
        if line.isEmpty { blank += 1; continue }
        let colon = line.firstIndex(of: 0x3A) ?? line.count
        let name = Array(line[..<colon])
        var value = colon < line.count ? Array(line[(colon + 1)...]) : []
        if value.first == 0x20 { value.removeFirst() }
        switch String(decoding: name, as: UTF8.self) {
        case "data": data = (data.map { $0 + [0x0A] } ?? []) + value
        case "id": id = value
        case "event": event = value
        default: break
        }
    }
    return (data, id, event, blank)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: bytes, count: size))

    // Last-Event-ID: our parser accepts exactly the plain decimal numbers that fit in UInt64.
    let ours = input.withUnsafeBytes { SSELastEventID.parse(HTTPByteView(start: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count)) }
    let text = String(decoding: input, as: UTF8.self)
    let digitsOnly = !input.isEmpty && input.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    let oracle = digitsOnly && input.count <= 20 ? UInt64(text) : nil
    check(ours == oracle, "Last-Event-ID \(input): ours \(String(describing: ours)), stdlib \(String(describing: oracle))")

    // The encoder: split the input into an id, an event name and the data.
    let cut1 = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
    let cut2 = input.count < 2 ? cut1 : max(cut1, Int(input[1]) % (input.count + 1))
    let id = String(decoding: input[0..<cut1], as: UTF8.self)
    let event = String(decoding: input[cut1..<cut2], as: UTF8.self)
    let data = Array(input[cut2...])
    var out: [UInt8] = []
    data.withUnsafeBytes { SSEEncoder.encode(id: id, event: event, data: $0, into: &out) }
    let decoded = decode(out)
    check(decoded.blankLines == 1 && out.last == 0x0A && out.dropLast().last == 0x0A, "one event, ended by one blank line")
    // Data: CR, LF and CRLF all become "\n".
    var expected: [UInt8] = []
    var k = 0
    while k < data.count {
        if data[k] == 0x0D {
            expected.append(0x0A)
            if k + 1 < data.count && data[k + 1] == 0x0A { k += 1 }
        } else {
            expected.append(data[k])
        }
        k += 1
    }
    check(decoded.data == expected, "data did not survive the round trip")
    let clean = { (s: String) in Array(s.utf8).filter { $0 != 0x0A && $0 != 0x0D && $0 != 0 } }
    check(decoded.id == clean(id), "id field altered")
    check(decoded.event == clean(event), "event field altered")
    return 0
}
