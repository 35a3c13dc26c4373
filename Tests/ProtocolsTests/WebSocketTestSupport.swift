import Protocols

/// Everything an endpoint reported, with payloads copied out.
enum Seen: Equatable {
    case text(String), binary([UInt8]), ping([UInt8]), pong([UInt8]), close(UInt16, String), failure(UInt16)

    /// An owned copy of an endpoint event (its payload is borrowed only for the callback).
    init(_ event: WebSocketEvent) {
        switch event {
        case .text(let b): self = .text(String(decoding: b, as: UTF8.self))
        case .binary(let b): self = .binary(Array(b))
        case .ping(let b): self = .ping(Array(b))
        case .pong(let b): self = .pong(Array(b))
        case .close(let code, let reason): self = .close(code.rawValue, String(decoding: reason, as: UTF8.self))
        case .failure(let code, _): self = .failure(code.rawValue)
        }
    }
}

/// Feeds `input` to a server endpoint in pieces split at `splits`, keeping unconsumed bytes the
/// way the reactor does, and collects the events.
func runEndpoint(_ input: [UInt8], splits: [Int] = [], limits: WebSocketLimits = WebSocketLimits(), deflate: Bool = false) -> [Seen] {
    var endpoint = WebSocketEndpoint(role: .server, limits: limits)
    if deflate { endpoint.enableDeflate(WebSocketInflater(noContextTakeover: false)!) }
    var seen: [Seen] = []
    var pending: [UInt8] = []
    var cuts = splits.filter { $0 > 0 && $0 < input.count }.sorted() + [input.count]
    var start = 0
    while !cuts.isEmpty {
        let end = cuts.removeFirst()
        pending += input[start..<end]
        start = end
        let consumed = pending.withUnsafeMutableBytes { buffer in
            endpoint.process(buffer) { event in
                seen.append(Seen(event))
            }
        }
        pending.removeFirst(consumed)
    }
    return seen
}
