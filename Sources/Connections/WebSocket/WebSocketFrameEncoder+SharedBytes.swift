import Protocols
import Reactor

extension WebSocketFrameEncoder {
    /// A whole unmasked (server) frame as shared bytes: encode a broadcast once, send it to every
    /// subscriber by reference.
    public static func serverFrame(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) -> SharedBytes {
        SharedBytes(capacity: maxHeaderLength + payload.count) { out in
            let h = writeHeader(opcode: opcode, payloadLength: payload.count, into: out.baseAddress!)
            if payload.count > 0 { (out.baseAddress! + h).copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
            return h + payload.count
        }
    }

    public static func serverFrame(text: String) -> SharedBytes {
        var t = text
        return t.withUTF8 { serverFrame(opcode: .text, payload: UnsafeRawBufferPointer($0)) }
    }
}
