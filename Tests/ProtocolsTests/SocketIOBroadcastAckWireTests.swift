import Protocols
import XCTest

/// The wire forms of a broadcast asking for acks and of the answers, without I/O: round trips,
/// and every malformed input a defined error, never a trap.
final class SocketIOBroadcastAckWireTests: XCTestCase {
    private func request(_ bytes: [UInt8]) -> (id: UInt64, timeoutMilliseconds: Int, envelope: SocketIOBroadcastEnvelope)? {
        bytes.withUnsafeBytes { b in
            do { return try SocketIOBroadcastAckWire.decodeRequest(b) } catch { return nil }
        }
    }

    private func reply(_ bytes: [UInt8]) -> (id: UInt64, reply: SocketIOBroadcastAckWire.Reply)? {
        bytes.withUnsafeBytes { b in
            do { return try SocketIOBroadcastAckWire.decodeReply(b) } catch { return nil }
        }
    }

    func testRequestsAndRepliesRoundTrip() throws {
        let envelope = SocketIOBroadcastEnvelope(namespace: "/chat", rooms: ["r"], except: ["s"],
                                                 packet: Array(#"51-/chat,["q",{"_placeholder":true,"num":0}]"#.utf8), attachments: [[1, 2]])
        let bytes = SocketIOBroadcastAckWire.encodeRequest(id: 42, timeoutMilliseconds: 1500, envelope: envelope.encoded)
        XCTAssertTrue(bytes.withUnsafeBytes { SocketIOBroadcastAckWire.isRequest($0) })
        let decoded = try XCTUnwrap(request(bytes))
        XCTAssertEqual(decoded.id, 42)
        XCTAssertEqual(decoded.timeoutMilliseconds, 1500)
        XCTAssertEqual(decoded.envelope, envelope)

        for sent in [SocketIOBroadcastAckWire.Reply.count(3, server: ClusterServer(process: .max, loop: 3, processLoops: 4)), .response(json: Array(#"["a",{"b":1}]"#.utf8), attachments: [[0], []])] {
            let back = try XCTUnwrap(reply(SocketIOBroadcastAckWire.encodeReply(id: .max, sent)))
            XCTAssertEqual(back.id, .max)
            XCTAssertEqual(back.reply, sent)
        }
    }

    func testMalformedInputIsAnError() {
        let good = SocketIOBroadcastAckWire.encodeReply(id: 7, .count(1, server: ClusterServer(process: 9, loop: 0, processLoops: 2)))
        XCTAssertEqual(String(decoding: good, as: UTF8.self), "sioR1:71:c1:11:91:01:2")
        var inputs: [[UInt8]] = [[], Array("sioR".utf8), Array("sioR1:x1:c1:1".utf8), Array("sioR1:71:z1:1".utf8),
                                 Array("sioR1:71:c2:-1".utf8), good + [0],
                                 // no server; a loop the process does not have; no loops; more loops than allowed
                                 Array("sioR1:71:c1:1".utf8), Array("sioR1:71:c1:11:91:21:2".utf8), Array("sioR1:71:c1:11:91:01:0".utf8),
                                 Array("sioR1:71:c1:11:91:04:4097".utf8), Array("sioA1:72:-1sio1".utf8),
                                 Array("sioA1:78:99999999".utf8) + SocketIOBroadcastEnvelope(namespace: "/", packet: Array(#"2["x"]"#.utf8)).encoded,
                                 Array("sioA1:71:0sio11:/0:0:6:3[\"x\"]0:".utf8)]
        for n in 0..<good.count { inputs.append(Array(good.prefix(n))) }
        for input in inputs {
            XCTAssertNil(reply(input), String(decoding: input, as: UTF8.self))
            XCTAssertNil(request(input), String(decoding: input, as: UTF8.self))
        }
    }
}
