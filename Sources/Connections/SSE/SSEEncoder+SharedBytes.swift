import Protocols
import Reactor

extension SSEEncoder {
    /// One event as shared bytes, encoded once for every subscriber of a stream.
    public static func event(id: String? = nil, event: String? = nil, data: UnsafeRawBufferPointer?, retry: Int? = nil) -> SharedBytes {
        var out: [UInt8] = []
        out.reserveCapacity((data?.count ?? 0) + 32)
        encode(id: id, event: event, data: data, retry: retry, into: &out)
        return out.withUnsafeBytes { SharedBytes(copying: $0) }
    }
}
