// libFuzzer target for the router's path matcher (`HTTPRoutePattern`): request paths come from
// the network, and the router matches every one against its patterns before any handler runs.
//
// The input is split at its first newline: the part before is a pattern (as an application would
// register it: parsed or refused, never a trap), the part after is a path. The path is matched
// against that pattern and a few fixed ones, and every verdict is compared with a slow reference
// matcher written here (split on "/", compare segment by segment). Captured ranges must lie in
// the path, parameters by name must return those ranges, and decoding them must not trap.

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}

/// The captures `pattern` should produce on `path`, or nil when it should not match.
func referenceMatch(_ pattern: HTTPRoutePattern, _ path: [UInt8]) -> [[UInt8]]? {
    guard path.first == 0x2F else { return nil }
    let pieces = path.dropFirst().split(separator: 0x2F, omittingEmptySubsequences: false).map(Array.init)
    var captures: [[UInt8]] = []
    for (k, segment) in pattern.segments.enumerated() {
        switch segment {
        case .wildcard:
            guard k <= pieces.count else { return nil }
            // The rest of the path from this segment on, slashes included (possibly empty).
            let rest = pieces[k...].map { $0 }
            var joined: [UInt8] = []
            for (i, p) in rest.enumerated() {
                if i > 0 { joined.append(0x2F) }
                joined += p
            }
            return k < pieces.count ? captures + [joined] : nil
        case .literal(let literal):
            guard k < pieces.count, pieces[k] == literal else { return nil }
        case .parameter:
            guard k < pieces.count, !pieces[k].isEmpty else { return nil }
            captures.append(pieces[k])
        }
    }
    return pieces.count == pattern.segments.count ? captures : nil
}

let fixed = ["/users/:id", "/users/:id/posts/:post", "/files/*", "/a/:b/*", "/", "/*", "/x/y"].map { try! HTTPRoutePattern($0) }

func checkMatch(_ pattern: HTTPRoutePattern, _ path: [UInt8]) {
    path.withUnsafeBytes { raw in
        var captures = HTTPRouteCaptures()
        let matched = pattern.match(raw, captures: &captures)
        let expected = referenceMatch(pattern, path)
        check(matched == (expected != nil), "\(pattern) on \(path): matched \(matched), reference \(expected != nil)")
        guard matched, let expected else { return }
        check(captures.count == expected.count, "capture count")
        for i in 0..<captures.count {
            let r = captures[i]
            check(r.lowerBound >= 0 && r.lowerBound <= r.upperBound && r.upperBound <= raw.count, "capture out of the path")
            check(Array(raw[r]) == expected[i], "capture \(i) differs from the reference")
        }
        guard let base = raw.baseAddress else { return }
        let params = HTTPRouteParameters(pattern: pattern, captures: captures, path: HTTPByteView(start: base, count: raw.count))
        for (i, name) in pattern.parameterNames.enumerated() {
            guard let view = params[name] else { check(false, "parameter \(name) missing"); continue }
            check(Array(view.bytes) == expected[i], "parameter \(name) by name differs")
            _ = params.decoded(name)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let newline = input.firstIndex(of: 0x0A)
    let path = newline.map { Array(input[($0 + 1)...]) } ?? input
    for pattern in fixed { checkMatch(pattern, path) }
    if let newline {
        let text = String(decoding: input[..<newline], as: UTF8.self)
        do {
            let pattern = try HTTPRoutePattern(text)
            check(pattern.parameterNames.count <= HTTPRoutePattern.maxParameters, "too many parameters accepted")
            check(Set(pattern.parameterNames).count == pattern.parameterNames.count, "a name accepted twice")
            if let w = pattern.segments.firstIndex(of: .wildcard) { check(w == pattern.segments.count - 1, "* accepted before the end") }
            checkMatch(pattern, path)
            for other in fixed { _ = pattern.isMoreSpecific(than: other); _ = pattern.hasSameShape(as: other) }
        } catch {
            check(!error.description.isEmpty, "a refusal without a message")
        }
    }
    return 0
}
