/// A broadcast that asks every client for an acknowledgement (`emitWithAck` to rooms or a
/// namespace), as it travels to the other loops and processes, and the answers that come back,
/// sans-I/O.
///
/// The request is the plain broadcast (`SocketIOBroadcastEnvelope`, its packet without an ack id:
/// each server numbers the acks of its own sockets) behind a request id drawn by the sender:
///
///     sioA <request id> <timeout in ms> <broadcast envelope>
///
/// Each server that receives it answers once with how many of its clients it reached (`count`),
/// naming itself (its process's id, its loop, its process's loop count), then once per client
/// answer (`response`: the ACK's data array as JSON text and its attachments). That is how the
/// expected number of answers travels: the sender adds up the counts of the servers it expects,
/// which the servers' names tell it once every process reached has answered (`ClusterTally`).
/// Other counted cluster requests (SocketIOClusterWire) answer with the same replies.
///
///     sioR <request id> c <count> <process> <loop> <process's loops>
///     sioR <request id> r <json> <attachments>
///
/// Every field is length-prefixed in decimal as in the envelope (`<n>:<n bytes>`, a list being its
/// count then its strings).
public enum SocketIOBroadcastAckWire {
    static let requestMagic = Array("sioA".utf8)
    static let replyMagic = Array("sioR".utf8)

    /// A reply from one server.
    public enum Reply: Hashable, Sendable {
        case count(Int, server: ClusterServer)
        case response(json: [UInt8], attachments: [[UInt8]])
    }

    public static func isRequest(_ bytes: UnsafeRawBufferPointer) -> Bool { bytes.starts(with: requestMagic) }

    public static func encodeRequest(id: UInt64, timeoutMilliseconds: Int, envelope: [UInt8]) -> [UInt8] {
        var out = requestMagic
        SocketIOBroadcastEnvelope.append(String(id).utf8, to: &out)
        SocketIOBroadcastEnvelope.append(String(timeoutMilliseconds).utf8, to: &out)
        out += envelope
        return out
    }

    /// The request id, how long the asking server waits (each server forgets its sockets' ack
    /// ids after it; at most a day), and the broadcast.
    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(SocketIOBroadcastEnvelope.DecodingError)
        -> (id: UInt64, timeoutMilliseconds: Int, envelope: SocketIOBroadcastEnvelope) {
        guard bytes.starts(with: requestMagic) else { throw .unknownFormat }
        var reader = SocketIOBroadcastEnvelope.Reader(bytes: bytes)
        reader.position = requestMagic.count
        guard let id = UInt64(String(decoding: try reader.string(), as: UTF8.self)),
              let timeout = Int(String(decoding: try reader.string(), as: UTF8.self)), (0...86_400_000).contains(timeout) else { throw .truncated }
        let envelope = try SocketIOBroadcastEnvelope(decoding: UnsafeRawBufferPointer(rebasing: bytes[reader.position...]))
        return (id, timeout, envelope)
    }

    public static func encodeReply(id: UInt64, _ reply: Reply) -> [UInt8] {
        var out = replyMagic
        SocketIOBroadcastEnvelope.append(String(id).utf8, to: &out)
        switch reply {
        case .count(let n, let server):
            SocketIOBroadcastEnvelope.append("c".utf8, to: &out)
            SocketIOBroadcastEnvelope.append(String(n).utf8, to: &out)
            SocketIOBroadcastEnvelope.append(String(server.process).utf8, to: &out)
            SocketIOBroadcastEnvelope.append(String(server.loop).utf8, to: &out)
            SocketIOBroadcastEnvelope.append(String(server.processLoops).utf8, to: &out)
        case .response(let json, let attachments):
            SocketIOBroadcastEnvelope.append("r".utf8, to: &out)
            SocketIOBroadcastEnvelope.append(json, to: &out)
            SocketIOBroadcastEnvelope.appendCount(attachments.count, to: &out)
            for a in attachments { SocketIOBroadcastEnvelope.append(a, to: &out) }
        }
        return out
    }

    public static func decodeReply(_ bytes: UnsafeRawBufferPointer) throws(SocketIOBroadcastEnvelope.DecodingError) -> (id: UInt64, reply: Reply) {
        guard bytes.starts(with: replyMagic) else { throw .unknownFormat }
        var reader = SocketIOBroadcastEnvelope.Reader(bytes: bytes)
        reader.position = replyMagic.count
        guard let id = UInt64(String(decoding: try reader.string(), as: UTF8.self)) else { throw .truncated }
        let kind = Array(try reader.string())
        let reply: Reply
        switch kind {
        case Array("c".utf8):
            guard let n = Int(String(decoding: try reader.string(), as: UTF8.self)), n >= 0,
                  let process = UInt64(String(decoding: try reader.string(), as: UTF8.self)),
                  let loop = Int(String(decoding: try reader.string(), as: UTF8.self)),
                  let loops = Int(String(decoding: try reader.string(), as: UTF8.self)),
                  (1...ClusterServer.maxProcessLoops).contains(loops), (0..<loops).contains(loop) else { throw .truncated }
            reply = .count(n, server: ClusterServer(process: process, loop: loop, processLoops: loops))
        case Array("r".utf8):
            let json = Array(try reader.string())
            var attachments: [[UInt8]] = []
            for _ in 0..<(try reader.count()) { attachments.append(Array(try reader.string())) }
            reply = .response(json: json, attachments: attachments)
        default:
            throw .unknownFormat
        }
        guard reader.position == bytes.count else { throw .trailingBytes }
        return (id, reply)
    }
}
