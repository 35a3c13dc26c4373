// libFuzzer target for HTTPRequestParser. Built by Fuzz/run.sh together with the sources of
// Sources/Protocols/HTTP1 into one module (so internal API is visible and no package is needed).
//
// Each input is parsed as a stream of pipelined requests, delivered in several patterns (whole,
// one byte at a time, two halves, pieces of 7 bytes, pieces of sizes taken from the input), with
// the default limits and with tiny ones. For every call the harness checks the calling
// contract, and for every pattern it checks that the transcript (heads, concatenated bodies,
// ends, error) is the same as for the whole input. Any violation traps, which libFuzzer reports
// as a crash.

/// What a stream parsed into, with everything copied out of the borrowed views.
enum FuzzEvent: Equatable {
    case head([UInt8])  // a digest of every field of the head, see `digest(_:)`
    case body([UInt8])  // consecutive pieces merged: the cut points depend on delivery
    case end
    case error(HTTPParserError)
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

/// Serialises a head, checking its internal consistency on the way.
func digest(_ head: HTTPRequestHead, consumed: Int, limits: HTTPParserLimits) -> [UInt8] {
    check(head.headRange.upperBound == consumed, "head range \(head.headRange) vs consumed \(consumed)")
    check(head.headRange.count <= limits.maxHeadLength, "head longer than the limit")
    check(head.headerCount <= limits.maxHeaderCount, "more headers than the limit")
    check(head.version == .http1_0 || head.version == .http1_1, "version \(head.version)")
    check(head.version == .http1_0 || head.hasHost, "HTTP/1.1 without Host accepted")
    check(!head.methodName.isEmpty && head.methodName.allSatisfy(isTokenByte), "method bytes")
    check(head.method == HTTPMethod(token: head.methodName.bytes), "method classification")
    check(!head.target.isEmpty && head.target.allSatisfy(isTargetByte), "target bytes")
    check(head.targetRange.lowerBound > head.methodRange.upperBound, "target after method")
    check(head.pathRange.lowerBound >= head.targetRange.lowerBound && head.pathRange.upperBound <= head.targetRange.upperBound, "path inside target")
    if let q = head.queryRange {
        check(q.lowerBound > head.pathRange.upperBound && q.upperBound == head.targetRange.upperBound, "query inside target")
    }
    switch head.bodyFraming {
    case .contentLength(let n): check(n > 0 && n <= limits.maxBodyLength, "content length \(n)")
    case .chunked, .none: break
    }
    if head.expectsContinue || head.upgradeRequested { check(head.version == .http1_1, "1.1-only facts on 1.0") }

    var out: [UInt8] = []
    out += head.methodName
    out.append(0)
    out += head.target
    out.append(0)
    out += [head.version.major, head.version.minor]
    out += [head.keepAlive ? 1 : 0, head.expectsContinue ? 1 : 0, head.upgradeRequested ? 1 : 0, head.hasHost ? 1 : 0]
    switch head.bodyFraming {
    case .none: out.append(0)
    case .chunked: out.append(1)
    case .contentLength(let n): out.append(2); withUnsafeBytes(of: n) { out += $0 }
    }
    withUnsafeBytes(of: head.pathRange.count) { out += $0 }
    withUnsafeBytes(of: head.queryRange?.count ?? -1) { out += $0 }
    for field in head.headers {
        check(field.nameRange.lowerBound >= head.headRange.lowerBound && field.valueRange.upperBound <= head.headRange.upperBound, "field inside head")
        check(!field.name.isEmpty && field.name.allSatisfy(isTokenByte), "field name bytes")
        check(field.value.allSatisfy(isFieldValueByte), "field value bytes")
        check(field.value.first.map { !isOWS($0) } ?? true, "value not trimmed at start")
        check(field.value.last.map { !isOWS($0) } ?? true, "value not trimmed at end")
        // Lookup by this name finds the first field of that name, case-insensitively.
        let found = head.value(of: field.name.string)
        check(found != nil, "lookup of a present name failed")
        out += field.name
        out.append(0x3A)
        out += field.value
        out.append(0)
    }
    // Exercise the allocating helpers too: they must not crash on any target.
    _ = head.decodedPath
    head.forEachQueryItem { name, _ in
        let decoded = name.percentDecoded(plusAsSpace: true)
        if !decoded.unicodeScalars.contains("\u{FFFD}") {
            check(head.queryValue(decoded) != nil, "queryValue misses an item present in the query")
        }
        return true
    }
    return out
}

/// Feeds `input` cut into pieces of the sizes `sizes` yields, the way the reactor does: the
/// unconsumed tail is kept and presented again, followed by the next piece. With `relocate`,
/// each call sees a fresh heap copy that is freed right after, so a parser keeping a pointer
/// into an old buffer would be caught by AddressSanitizer.
func run(_ input: UnsafeRawBufferPointer, limits: HTTPParserLimits, relocate: Bool, sizes: (Int) -> Int) -> [FuzzEvent] {
    var parser = HTTPRequestParser(limits: limits)
    var events: [FuzzEvent] = []
    var consumedTotal = 0
    var fed = 0
    var piece = 0
    var inMessage = false
    var bodyBytes = 0
    var expectedBody: Int? = nil
    while fed < input.count {
        fed = min(input.count, fed + max(1, sizes(piece)))
        piece += 1
        while true {
            let window = UnsafeRawBufferPointer(rebasing: input[consumedTotal..<fed])
            var scratch: UnsafeMutableRawBufferPointer?
            var view = window
            if relocate && window.count > 0 {
                let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: window.count, alignment: 1)
                copy.copyMemory(from: window)
                scratch = copy
                view = UnsafeRawBufferPointer(copy)
            }
            defer { scratch?.deallocate() }
            let (event, consumed) = parser.next(view)
            check(consumed >= 0 && consumed <= view.count, "consumed \(consumed) of \(view.count)")
            var stop = false
            switch event {
            case .needMoreData:
                stop = true
            case .head(let head):
                check(!inMessage, "head inside a message")
                check(head.base == view.baseAddress, "head based elsewhere than the input")
                events.append(.head(digest(head, consumed: consumed, limits: limits)))
                inMessage = true
                bodyBytes = 0
                expectedBody = head.contentLength
            case .body(let r):
                check(inMessage, "body outside a message")
                check(!r.isEmpty && r.lowerBound >= 0 && r.upperBound <= consumed, "body range \(r), consumed \(consumed)")
                bodyBytes += r.count
                check(bodyBytes <= limits.maxBodyLength, "body over the limit delivered")
                if let n = expectedBody { check(bodyBytes <= n, "more body than Content-Length") }
                let bytes = Array(view[r])
                if case .body(let before) = events.last {
                    events[events.count - 1] = .body(before + bytes)
                } else {
                    events.append(.body(bytes))
                }
            case .end:
                check(inMessage, "end outside a message")
                if let n = expectedBody { check(bodyBytes == n, "end before Content-Length bytes") }
                inMessage = false
            case .error(let e):
                check(consumed == 0, "error consumed bytes")
                let (again, n) = parser.next(view)
                guard case .error(let e2) = again, e2 == e, n == 0 else { fatalError("error not sticky") }
                check(parser.error == e, "error property")
                events.append(.error(e))
                return events
            }
            if case .end = event { events.append(.end) }
            consumedTotal += consumed
            if stop { break }
        }
    }
    return events
}

let tinyLimits = HTTPParserLimits(
    maxRequestLineLength: 48, maxHeadLength: 160, maxHeaderCount: 4, maxBodyLength: 64, maxChunkLineLength: 12)
let strictLimits = HTTPParserLimits(allowsBareLineFeed: false)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    for limits in [HTTPParserLimits.default, tinyLimits, strictLimits] {
        let whole = run(input, limits: limits, relocate: false) { _ in size }
        let bytewise = run(input, limits: limits, relocate: false) { _ in 1 }
        check(bytewise == whole, "byte-by-byte delivery differs from whole")
        let halves = run(input, limits: limits, relocate: true) { _ in (size + 1) / 2 }
        check(halves == whole, "two halves differ from whole")
        let sevens = run(input, limits: limits, relocate: true) { _ in 7 }
        check(sevens == whole, "7-byte pieces differ from whole")
        // Piece sizes drawn from the input itself, so the fuzzer steers the cuts too.
        let steered = run(input, limits: limits, relocate: true) { i in size == 0 ? 1 : Int(input[(i &* 31) % size] % 23) + 1 }
        check(steered == whole, "input-steered pieces differ from whole")
    }
    return 0
}
