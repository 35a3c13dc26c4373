// libFuzzer target for `HTTPContentCoding.preferred`, the `Accept-Encoding` reader of Engine.IO's
// polling compression: the input is a header value, compared with a slow reference written here
// from RFC 9110 12.5.3 (split on commas, then on `;`, weights in thousandths, malformed refuses).

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var s = s
    while let f = s.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
    while let l = s.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
    return s
}

func lower(_ s: ArraySlice<UInt8>) -> [UInt8] { s.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 } }

/// A qvalue in thousandths the slow way: `0` or `1`, then optionally `.` and up to three digits,
/// nothing around it (RFC 9110 12.4.2 allows no whitespace after `q=`).
func referenceWeight(_ v: ArraySlice<UInt8>) -> Int {
    let v = Array(v)
    guard !v.isEmpty, v.count <= 5, v[0] == 0x30 || v[0] == 0x31 else { return 0 }
    if v.count == 1 { return Int(v[0] - 0x30) * 1000 }
    guard v[1] == 0x2E, v[2...].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return 0 }
    var digits = v[2...].map { Int($0 - 0x30) }
    while digits.count < 3 { digits.append(0) }
    return min(1000, Int(v[0] - 0x30) * 1000 + digits[0] * 100 + digits[1] * 10 + digits[2])
}

func reference(_ input: [UInt8]) -> HTTPContentCoding? {
    var gzip = -1, deflate = -1, any = -1
    for element in input.split(separator: 0x2C, omittingEmptySubsequences: false) {
        let element = trimmed(element)
        if element.isEmpty { continue }
        let parts = element.split(separator: 0x3B, maxSplits: 1, omittingEmptySubsequences: false)
        let coding = lower(trimmed(parts[0]))
        var weight = 1000
        if parts.count > 1 {
            let parameter = trimmed(parts[1])
            if parameter.count >= 2, parameter[parameter.startIndex] | 0x20 == 0x71, parameter[parameter.startIndex + 1] == 0x3D {
                weight = referenceWeight(parameter.dropFirst(2))
            } else {
                weight = 0
            }
        }
        if coding == Array("gzip".utf8) || coding == Array("x-gzip".utf8) { gzip = max(gzip, weight) }
        else if coding == Array("deflate".utf8) { deflate = max(deflate, weight) }
        else if coding == [0x2A] { any = max(any, weight) }
    }
    if gzip < 0 { gzip = max(any, 0) }
    if deflate < 0 { deflate = max(any, 0) }
    if gzip > 0 && gzip >= deflate { return .gzip }
    if deflate > 0 { return .deflate }
    return nil
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let got = input.withUnsafeBytes {
        HTTPContentCoding.preferred(acceptEncoding: HTTPByteView(start: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count))
    }
    check(got == reference(input), "preferred(\(String(decoding: input, as: UTF8.self).debugDescription)) = \(String(describing: got)), reference \(String(describing: reference(input)))")
    return 0
}
