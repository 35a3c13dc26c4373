/// Writes Socket.IO packets: the text part, then (for the caller to send as binary messages)
/// the attachments. A packet with attachments is written as BINARY_EVENT or BINARY_ACK whatever
/// its `type` says, so an event is binary exactly when it carries binary data.
public enum SocketIOPacketEncoder {
    /// Appends the text part of `packet`: `<type>[<n>-][<nsp>,][<id>][<JSON>]`.
    public static func write(_ packet: SocketIOPacket, into out: inout [UInt8]) {
        var type = packet.type
        if !packet.attachments.isEmpty {
            if type == .event { type = .binaryEvent } else if type == .ack { type = .binaryAck }
        } else if type == .binaryEvent {
            type = .event
        } else if type == .binaryAck {
            type = .ack
        }
        out.append(type.digit)
        if type.isBinary {
            JSONValue.writeInteger(Int64(packet.attachments.count), into: &out)
            out.append(0x2D)  // "-"
        }
        if packet.namespace != "/" {
            out += packet.namespace.utf8
            out.append(0x2C)  // ","
        }
        if let id = packet.id { out += String(id).utf8 }
        packet.data?.write(into: &out)
    }

    /// The text part as a new buffer (tests and slow paths).
    public static func encode(_ packet: SocketIOPacket) -> [UInt8] {
        var out: [UInt8] = []
        write(packet, into: &out)
        return out
    }

    /// The text part as a String.
    public static func string(_ packet: SocketIOPacket) -> String {
        String(decoding: encode(packet), as: UTF8.self)
    }
}
