// libFuzzer target for the RESP decoder (and what reads its values: the pipeline, the relay's
// event and stream parsers, the URL parser). Built by Fuzz/run.sh with the files in sources.txt
// (the sans-I/O Redis code, which imports nothing but the standard library).
//
// Each input is decoded as a stream of pipelined replies, whole and in several delivery patterns
// (one byte at a time, two halves, pieces of 7, pieces sized by the input), with default and with
// tiny limits; every pattern must give the same transcript (values, then at most one error) as the
// whole input, nothing may be consumed beyond the input, and every value must survive a round
// trip through the value encoder. Any violation traps, which libFuzzer reports as a crash.

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

/// Values as canonical bytes (NaN compares equal to itself this way), and the error if any.
struct Transcript: Equatable {
    var values: [[UInt8]] = []
    var error: RESPError?
}

/// Decodes `input` delivered in pieces of the given sizes, the way the reactor presents it: the
/// unconsumed tail followed by the next piece.
func transcript(_ input: [UInt8], pieces: [Int], limits: RESPLimits) -> Transcript {
    var decoder = RESPDecoder(limits: limits)
    var t = Transcript()
    var pending: [UInt8] = []
    var offset = 0
    var pieceIndex = 0
    while offset < input.count {
        let size = max(1, pieces.isEmpty ? input.count : pieces[pieceIndex % pieces.count])
        pieceIndex += 1
        let end = min(input.count, offset + size)
        pending += input[offset..<end]
        offset = end
        var used = 0
        while used < pending.count {
            do {
                guard let (v, n) = try pending.withUnsafeBytes({ try decoder.decode(UnsafeRawBufferPointer(rebasing: $0[used...])) }) else { break }
                check(n > 0 && n <= pending.count - used, "consumed \(n) of \(pending.count - used)")
                t.values.append(RESPValueEncoder.encode(v))
                roundTrip(v)
                used += n
            } catch {
                t.error = error as? RESPError
                check(t.error != nil, "decode threw something other than RESPError: \(error)")
                return t
            }
        }
        pending.removeFirst(used)
    }
    return t
}

func roundTrip(_ v: RESPValue) {
    let wire = RESPValueEncoder.encode(v)
    var decoder = RESPDecoder(limits: RESPLimits(maxBulkLength: 1 << 30, maxAggregateCount: 1 << 30, maxDepth: 512, maxLineLength: 1 << 30))
    guard let (back, n) = try? wire.withUnsafeBytes({ try decoder.decode($0) }) else {
        fatalError("re-encoded value does not decode: \(v)")
    }
    check(n == wire.count, "re-encoded value consumed \(n) of \(wire.count)")
    check(RESPValueEncoder.encode(back) == wire, "round trip changed \(v) into \(back)")
}

/// What the client does with values: classify them, parse relay payloads and stream replies.
func exercise(_ values: [[UInt8]]) {
    var p2 = RedisPipeline<Int>(version: .resp2)
    var p3 = RedisPipeline<Int>(version: .resp3)
    p2.sent(0, kind: .subscription(names: 2))
    p3.sent(0, kind: .subscription(names: 1))
    for (i, wire) in values.enumerated() {
        var d = RESPDecoder()
        guard let (v, _) = try? wire.withUnsafeBytes({ try d.decode($0) }) else { continue }
        p2.sent(i)
        p3.sent(i)
        _ = p2.receive(v)
        _ = p3.receive(v)
        if let b = v.bytes, let e = RedisRoomEvent(payload: b) {
            check(RedisRoomEvent(payload: e.payload) == e, "room event round trip")
        }
        _ = RedisRoomEvent.entries(room: "r", xrange: v)
    }
    _ = p2.abandonAll()
    _ = p3.abandonAll()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let tiny = RESPLimits(maxBulkLength: 64, maxAggregateCount: 8, maxDepth: 4, maxLineLength: 32)
    for limits in [RESPLimits.default, tiny] {
        let whole = transcript(input, pieces: [], limits: limits)
        let sized = input.prefix(8).map { Int($0 % 13) + 1 }
        for pieces in [[1], [max(1, (input.count + 1) / 2)], [7], sized] {
            let t = transcript(input, pieces: pieces, limits: limits)
            check(t == whole, "pieces \(pieces) gave another transcript")
        }
        exercise(whole.values)
    }
    // The URL parser on the same bytes as text.
    _ = try? RedisEndpoint(url: "redis://" + String(decoding: input.prefix(200), as: UTF8.self))
    _ = try? RedisEndpoint(url: String(decoding: input.prefix(200), as: UTF8.self))
    return 0
}
