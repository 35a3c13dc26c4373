// libFuzzer target for JSONValueDecoder and JSONValueEncoder: a typed `socket.data` read back from
// `fetchSockets` is JSON another process sent (through Redis), decoded into the application's
// Codable type. Whatever the JSON, decoding throws or succeeds; it never traps (an integer out of
// a field's range, a float where an int is wanted, a missing key, a wrong shape), and what
// decodes encodes again and decodes to the same value (but a UInt64 above Int64.max, which reads
// from a number like 1e19 and which the encoder refuses rather than write as a double).

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

/// A type with every kind of field the coders handle: integer widths, floats, optionals, nested
/// keyed and unkeyed containers, an enum with associated values, a dictionary, free-form JSON.
struct Sample: Codable, Equatable {
    enum Kind: Codable, Equatable {
        case plain
        case tagged(Int8, name: String?)
    }
    var i8: Int8?
    var u16: UInt16?
    var i64: Int64?
    var u64: UInt64?
    var f: Float?
    var d: Double?
    var b: Bool?
    var s: String?
    var list: [Int]?
    var nested: [[Sample]]?
    var kind: Kind?
    var map: [String: UInt8]?
    var free: JSONValue?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let value = try? JSONValue.parse(input) else { return 0 }
    // JSONValue through its own coders comes back unchanged.
    if let same = try? JSONValueDecoder().decode(JSONValue.self, from: value) {
        check(same == value, "JSONValue decoded differently")
        check((try? JSONValueEncoder().encode(same)) == value, "JSONValue encoded differently")
    }
    for type in [Sample.self] {
        guard let sample = try? JSONValueDecoder().decode(type, from: value) else { continue }
        // What decoded encodes, and that decodes to the same value again.
        guard let encoded = try? JSONValueEncoder().encode(sample) else {
            // The one value that reads but does not write: a UInt64 above Int64.max, read from a
            // JSON number like 1e19 but refused by the encoder rather than written as a double
            // (documented in JSONValueEncoder).
            check(sample.u64.map { $0 > UInt64(Int64.max) } ?? false, "a decoded value failed to encode")
            return 0
        }
        let again = try? JSONValueDecoder().decode(type, from: encoded)
        check(again == sample || sample.containsNaN, "round trip changed the value")
    }
    _ = try? JSONValueDecoder().decode([Int32].self, from: value)
    _ = try? JSONValueDecoder().decode([String: Double].self, from: value)
    _ = try? JSONValueDecoder().decode(Sample.Kind.self, from: value)
    return 0
}

extension Sample {
    var containsNaN: Bool { (f?.isNaN ?? false) || (d?.isNaN ?? false) }
}
