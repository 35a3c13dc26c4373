import Protocols
import XCTest

/// The Socket.IO v5 packet codec, binary reassembly and arguments, without I/O.
final class SocketIOPacketTests: XCTestCase {
    func decode(_ s: String, maxAttachments: Int = 10) throws -> (SocketIOPacket, Int) {
        var decoder = SocketIOPacketDecoder()
        decoder.maxAttachments = maxAttachments
        return try Array(s.utf8).withUnsafeBytes { try decoder.decode($0) }
    }

    func testEveryPacketTypeDecodes() throws {
        let cases: [(String, SocketIOPacket, Int)] = [
            ("0", SocketIOPacket(.connect), 0),
            ("0/admin,", SocketIOPacket(.connect, namespace: "/admin"), 0),
            ("0/admin", SocketIOPacket(.connect, namespace: "/admin"), 0),
            (#"0{"token":"123"}"#, SocketIOPacket(.connect, data: ["token": "123"]), 0),
            (#"0/admin,{"token":"123"}"#, SocketIOPacket(.connect, namespace: "/admin", data: ["token": "123"]), 0),
            ("0/admin?x=1,", SocketIOPacket(.connect, namespace: "/admin"), 0),
            ("1", SocketIOPacket(.disconnect), 0),
            ("1/admin,", SocketIOPacket(.disconnect, namespace: "/admin"), 0),
            (#"2["hello",1]"#, SocketIOPacket(.event, data: ["hello", 1]), 0),
            (#"2/admin,456["project:delete",123]"#, SocketIOPacket(.event, namespace: "/admin", id: 456, data: ["project:delete", 123]), 0),
            (#"3/admin,456[]"#, SocketIOPacket(.ack, namespace: "/admin", id: 456, data: []), 0),
            (#"43456[1,"2",{"3":[false]}]"#.dropFirst().description, SocketIOPacket(.ack, id: 456, data: [1, "2", ["3": [false]]]), 0),
            (#"4{"message":"Not authorized"}"#, SocketIOPacket(.connectError, data: ["message": "Not authorized"]), 0),
            (#"51-["hello",{"_placeholder":true,"num":0}]"#, SocketIOPacket(.binaryEvent, data: ["hello", ["_placeholder": true, "num": 0]]), 1),
            (#"61-/admin,456[{"_placeholder":true,"num":0}]"#, SocketIOPacket(.binaryAck, namespace: "/admin", id: 456, data: [["_placeholder": true, "num": 0]]), 1),
            (#"52-789["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
             SocketIOPacket(.binaryEvent, id: 789, data: ["a", ["_placeholder": true, "num": 0], ["_placeholder": true, "num": 1]]), 2),
            (#"2[12,"x"]"#, SocketIOPacket(.event, data: [12, "x"]), 0),
        ]
        for (wire, expected, count) in cases {
            let (packet, n) = try decode(wire)
            XCTAssertEqual(packet, expected, wire)
            XCTAssertEqual(n, count, wire)
        }
    }

    func testEncodingMatchesTheReferenceWire() {
        func s(_ p: SocketIOPacket) -> String { SocketIOPacketEncoder.string(p) }
        XCTAssertEqual(s(SocketIOPacket(.connect, data: ["sid": "abc"])), #"0{"sid":"abc"}"#)
        XCTAssertEqual(s(SocketIOPacket(.connect, namespace: "/custom", data: ["sid": "abc"])), #"0/custom,{"sid":"abc"}"#)
        XCTAssertEqual(s(SocketIOPacket(.disconnect, namespace: "/chat")), "1/chat,")
        XCTAssertEqual(s(SocketIOPacket(.event, data: ["auth", [:]])), #"2["auth",{}]"#)
        XCTAssertEqual(s(SocketIOPacket(.ack, id: 456, data: [1, "2", ["3": [false]]])), #"3456[1,"2",{"3":[false]}]"#)
        XCTAssertEqual(s(SocketIOPacket(.connectError, namespace: "/random", data: ["message": "Invalid namespace"])),
                       #"4/random,{"message":"Invalid namespace"}"#)
        let binary = SocketIOPacket(.event, data: ["message-back", ["_placeholder": true, "num": 0], ["_placeholder": true, "num": 1]],
                                    attachments: [[1, 2, 3], [4, 5, 6]])
        XCTAssertEqual(s(binary), #"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        let binaryAck = SocketIOPacket(.ack, id: 789, data: [["_placeholder": true, "num": 0]], attachments: [[1]])
        XCTAssertEqual(s(binaryAck), #"61-789[{"_placeholder":true,"num":0}]"#)
        // A "binary" type without attachments is written as the plain type.
        XCTAssertEqual(s(SocketIOPacket(.binaryEvent, data: ["x"])), #"2["x"]"#)
    }

    func testRoundTripEveryType() throws {
        let packets = [
            SocketIOPacket(.connect, namespace: "/a", data: ["k": "v"]), SocketIOPacket(.disconnect, namespace: "/a"),
            SocketIOPacket(.event, namespace: "/a", id: 1, data: ["e", 1.5, nil, true]), SocketIOPacket(.ack, id: 18446744073709551615, data: []),
            SocketIOPacket(.connectError, data: "nope"),
        ]
        for p in packets {
            XCTAssertEqual(try decode(SocketIOPacketEncoder.string(p)).0, p)
        }
    }

    func testMalformedPacketsAreErrorsNeverCrashes() {
        let cases: [(String, SocketIOProtocolError)] = [
            ("", .empty),
            ("abc", .unknownPacketType(0x61)),
            ("7", .unknownPacketType(0x37)),
            ("42{}".dropFirst().description, .invalidPayload(.event)),
            ("2[]", .invalidPayload(.event)),
            ("2[1.5e999]", .invalidJSON(JSONError(.numberOutOfRange, at: 1, expected: ""))),
            (#"2{"a":1}"#, .invalidPayload(.event)),
            (#"2["disconnect"]"#, .invalidPayload(.event)),
            (#"2[null]"#, .invalidPayload(.event)),
            ("2abc[\"x\"]", .invalidJSON(JSONError(.unexpectedCharacter, at: 0, expected: ""))),
            ("0[1]", .invalidPayload(.connect)),
            ("0\"token\"", .invalidPayload(.connect)),
            ("1{}", .invalidPayload(.disconnect)),
            ("3{}", .invalidPayload(.ack)),
            ("3", .invalidPayload(.ack)),
            ("4", .invalidPayload(.connectError)),
            ("5[\"x\"]", .invalidAttachmentCount),
            ("5-[\"x\"]", .invalidAttachmentCount),
            ("51[\"x\"]", .invalidAttachmentCount),
            ("511-[\"x\"]", .tooManyAttachments(11)),
            ("599999999999999999999999-[\"x\"]", .tooManyAttachments(99)),
            ("2123456789012345678901[\"x\"]", .invalidAckID),
            ("218446744073709551616[\"x\"]", .invalidAckID),  // 2^64: one past UInt64.max
        ]
        for (wire, error) in cases {
            XCTAssertThrowsError(try decode(wire), wire) { thrown in
                guard let e = thrown as? SocketIOProtocolError else { return XCTFail("\(wire): \(thrown)") }
                switch (e, error) {
                case (.invalidJSON, .invalidJSON): break  // positions are the JSON parser's business
                default: XCTAssertEqual(e, error, wire)
                }
            }
        }
    }

    func testAssemblerReassemblesBinaryPackets() throws {
        var assembler = SocketIOPacketAssembler()
        let header = Array(#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#.utf8)
        XCTAssertNil(try header.withUnsafeBytes { try assembler.receive(text: $0) })
        XCTAssertTrue(assembler.isAwaitingAttachments)
        XCTAssertNil(try [UInt8]([1, 2, 3]).withUnsafeBytes { try assembler.receive(binary: $0) })
        let packet = try XCTUnwrap(try [UInt8]([4, 5, 6]).withUnsafeBytes { try assembler.receive(binary: $0) })
        XCTAssertEqual(packet.attachments, [[1, 2, 3], [4, 5, 6]])
        XCTAssertFalse(assembler.isAwaitingAttachments)
        let args = SocketIOArguments(Array(packet.data!.arrayValue!.dropFirst()), attachments: packet.attachments)
        XCTAssertEqual(args.binary(at: 0), [1, 2, 3])
        XCTAssertEqual(args.binary(at: 1), [4, 5, 6])
        XCTAssertNil(args.binary(at: 2))
        // Plain packets pass straight through.
        XCTAssertEqual(try Array(#"2["x"]"#.utf8).withUnsafeBytes { try assembler.receive(text: $0) }, SocketIOPacket(.event, data: ["x"]))
    }

    func testAssemblerErrors() {
        var a = SocketIOPacketAssembler()
        XCTAssertThrowsError(try [UInt8]([1]).withUnsafeBytes { try a.receive(binary: $0) }) {
            XCTAssertEqual($0 as? SocketIOProtocolError, .unexpectedBinary)
        }
        var b = SocketIOPacketAssembler()
        _ = try? Array(#"51-["x",{"_placeholder":true,"num":0}]"#.utf8).withUnsafeBytes { try b.receive(text: $0) }
        XCTAssertThrowsError(try Array(#"2["y"]"#.utf8).withUnsafeBytes { try b.receive(text: $0) }) {
            XCTAssertEqual($0 as? SocketIOProtocolError, .unexpectedText)
        }
        for bad in [#"51-["x",{"_placeholder":true,"num":1}]"#, #"51-["x",{"_placeholder":true,"num":-1}]"#, #"51-["x",{"_placeholder":true}]"#] {
            var c = SocketIOPacketAssembler()
            XCTAssertNil(try Array(bad.utf8).withUnsafeBytes { try c.receive(text: $0) })
            XCTAssertThrowsError(try [UInt8]([9]).withUnsafeBytes { try c.receive(binary: $0) }, bad) {
                XCTAssertEqual($0 as? SocketIOProtocolError, .invalidPlaceholder)
            }
        }
    }

    func testArgumentsBuildPlaceholders() {
        var args: SocketIOArguments = ["name"]
        args.append(binary: [0xDE, 0xAD])
        let nested = args.placeholder(for: [1])
        args.append(["file": nested])
        XCTAssertEqual(args.count, 3)
        XCTAssertEqual(args.binary(at: 1), [0xDE, 0xAD])
        XCTAssertEqual(args.binary(args[2]?["file"]), [1])
        XCTAssertNil(args.binary(at: 0))
        XCTAssertNil(args[7])
        let packet = SocketIOPacket(.event, data: .array(["e"] + args.values), attachments: args.attachments)
        XCTAssertEqual(SocketIOPacketEncoder.string(packet),
                       #"52-["e","name",{"_placeholder":true,"num":0},{"file":{"_placeholder":true,"num":1}}]"#)
    }

    /// The attachment count is checked before it grows: with the limit raised near Int.max, a
    /// long run of digits must fail, not overflow.
    func testAttachmentCountNeverOverflows() {
        var decoder = SocketIOPacketDecoder()
        decoder.maxAttachments = .max
        let wire = "5" + String(repeating: "9", count: 40) + "-[\"x\"]"
        XCTAssertThrowsError(try Array(wire.utf8).withUnsafeBytes { try decoder.decode($0) }) { error in
            guard case .tooManyAttachments? = error as? SocketIOProtocolError else { return XCTFail("\(error)") }
        }
        decoder.maxAttachments = 10
        // The largest count that fits is still an ordinary refusal.
        XCTAssertThrowsError(try Array("59223372036854775807-[\"x\"]".utf8).withUnsafeBytes { try decoder.decode($0) })
    }

    /// A placeholder's `num` from the peer: huge, negative, fractional or not a number is an
    /// error, never an index.
    func testPlaceholderNumbersOutOfRangeAreErrors() throws {
        for num in ["1e300", "-1", "1.5", "9223372036854775808", "\"0\"", "1"] {
            var assembler = SocketIOPacketAssembler()
            let text = Array(#"51-["e",{"_placeholder":true,"num":\#(num)}]"#.utf8)
            XCTAssertNil(try text.withUnsafeBytes { try assembler.receive(text: $0) }, num)
            XCTAssertThrowsError(try [UInt8(1)].withUnsafeBytes { try assembler.receive(binary: $0) }, num) { error in
                XCTAssertEqual(error as? SocketIOProtocolError, .invalidPlaceholder, num)
            }
        }
        // Arguments from a peer, read past their end, are nil (the demo's `args[0]` on `[]`).
        let empty: SocketIOArguments = []
        XCTAssertNil(empty[0])
        XCTAssertNil(empty[-1])
        XCTAssertNil(empty.binary(at: 3))
        XCTAssertNil(SocketIOArguments([SocketIOArguments.placeholder(5)]).binary(at: 0))
    }
}
