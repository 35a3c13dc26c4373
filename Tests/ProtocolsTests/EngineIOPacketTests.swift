import Protocols
import XCTest

/// The Engine.IO v4 packet and payload codecs, and the request classifier, without I/O.
final class EngineIOPacketTests: XCTestCase {
    func decodeText(_ s: String) throws -> (EngineIOPacketType, String) {
        let bytes = Array(s.utf8)
        return try bytes.withUnsafeBytes { b in
            let (type, data) = try EngineIOPacket.decodeText(b)
            return (type, String(decoding: data, as: UTF8.self))
        }
    }

    func testEveryTextPacketType() throws {
        let cases: [(String, EngineIOPacketType, String)] = [
            ("0{\"sid\":\"x\"}", .open, "{\"sid\":\"x\"}"), ("1", .close, ""), ("2", .ping, ""), ("2probe", .ping, "probe"),
            ("3", .pong, ""), ("3probe", .pong, "probe"), ("4hello", .message, "hello"), ("4", .message, ""),
            ("5", .upgrade, ""), ("6", .noop, ""), ("4héllo ☃", .message, "héllo ☃"),
        ]
        for (wire, type, data) in cases {
            let (t, d) = try decodeText(wire)
            XCTAssertEqual(t, type, wire)
            XCTAssertEqual(d, data, wire)
        }
        for type in EngineIOPacketType.allCases {
            XCTAssertEqual(EngineIOPacketType(digit: type.digit), type)
        }
    }

    func testMalformedTextPackets() {
        XCTAssertThrowsError(try decodeText("")) { XCTAssertEqual($0 as? EngineIOProtocolError, .emptyPacket) }
        for bad in ["7", "9x", "abc", "b", "/4", "\u{1E}"] {
            XCTAssertThrowsError(try decodeText(bad), bad) {
                guard case .unknownPacketType = $0 as? EngineIOProtocolError else { return XCTFail("\(bad): \($0)") }
            }
        }
    }

    func testPayloadDecodesSeparatedTextAndBinary() throws {
        let body = Array("4hello\u{1E}bAQIDBA==\u{1E}2\u{1E}4".utf8)
        let packets = try EngineIOPayload.decode(body)
        XCTAssertEqual(packets, [.text(.message, "hello"), .binary([1, 2, 3, 4]), .text(.ping), .text(.message)])
    }

    func testPayloadRoundTrip() throws {
        let packets: [EngineIOPacket] = [
            .text(.message, "test1"), .text(.message, "test2"), .binary([]), .binary([0, 255, 30]), .binary([1]),
            .text(.pong, "probe"), .text(.noop),
        ]
        let encoded = EngineIOPayload.encode(packets)
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), "4test1\u{1E}4test2\u{1E}b\u{1E}bAP8e\u{1E}bAQ==\u{1E}3probe\u{1E}6")
        XCTAssertEqual(try EngineIOPayload.decode(encoded), packets)
    }

    func testSpecExamples() throws {
        XCTAssertEqual(String(decoding: EngineIOPayload.encode([.text(.message, "hello"), .binary([1, 2, 3, 4])]), as: UTF8.self),
                       "4hello\u{1E}bAQIDBA==")
        XCTAssertEqual(try EngineIOPayload.decode(Array("4test1\u{1E}4test2\u{1E}4test3".utf8)).map(\.text), ["test1", "test2", "test3"])
    }

    func testMalformedPayloads() {
        let cases: [([UInt8], EngineIOProtocolError)] = [
            ([], .emptyPacket),
            (Array("4a\u{1E}\u{1E}4b".utf8), .emptyPacket),
            (Array("4a\u{1E}".utf8), .emptyPacket),
            (Array("\u{1E}4a".utf8), .emptyPacket),
            (Array("abc".utf8), .unknownPacketType(0x61)),
            (Array("4a\u{1E}8".utf8), .unknownPacketType(0x38)),
            (Array("bAQIDBA=".utf8), .invalidBase64),
            (Array("b!!!!".utf8), .invalidBase64),
            ([0x34, 0xFF, 0xFE], .invalidUTF8),
        ]
        for (body, error) in cases {
            XCTAssertThrowsError(try EngineIOPayload.decode(body), "\(body)") {
                XCTAssertEqual($0 as? EngineIOProtocolError, error, "\(body)")
            }
        }
        XCTAssertThrowsError(try EngineIOPayload.decode(Array("2\u{1E}2\u{1E}2".utf8), maxPackets: 2)) {
            XCTAssertEqual($0 as? EngineIOProtocolError, .tooManyPackets)
        }
    }

    func testBadPayloadDeliversNothing() {
        var delivered = 0
        let body = Array("4a\u{1E}4b\u{1E}zz".utf8)
        XCTAssertThrowsError(try body.withUnsafeBytes { b in try EngineIOPayload.decode(b) { _ in delivered += 1 } })
        XCTAssertEqual(delivered, 0)
    }

    func testOpenPacket() throws {
        var c = EngineIOConfiguration()
        c.pingInterval = .milliseconds(300)
        c.pingTimeout = .milliseconds(200)
        let data = EngineIOHandshake.openPacketData(sid: "abc", upgrades: ["websocket"], configuration: c)
        XCTAssertEqual(String(decoding: data, as: UTF8.self),
                       #"{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#)
    }

    func testSessionIDsAreTwentyURLSafeCharacters() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let id = EngineIOHandshake.makeSessionID()
            XCTAssertEqual(id.utf8.count, 20)
            XCTAssertTrue(id.utf8.allSatisfy { $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }, id)
            seen.insert(id)
        }
        XCTAssertEqual(seen.count, 1000)
    }

    func testSessionIDsNamingALoopCarryItsIndexAndStayTwentyURLSafeCharacters() {
        var seen = Set<String>()
        for loop in [0, 1, 2, 63, 64, 255, EngineIOHandshake.maxLoops - 1] {
            for _ in 0..<100 {
                let id = EngineIOHandshake.makeSessionID(loop: loop)
                XCTAssertEqual(id.utf8.count, 20)
                XCTAssertTrue(id.utf8.allSatisfy { $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }, id)
                XCTAssertEqual(EngineIOHandshake.loopIndex(ofSessionID: id), loop, id)
                seen.insert(id)
            }
        }
        XCTAssertEqual(seen.count, 700, "the other 18 characters stay random")
        // Shapes that carry no index: nil, never a trap.
        for sid in ["", "A", "AAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAA", "!AAAAAAAAAAAAAAAAAAA", "A AAAAAAAAAAAAAAAAAA", "éAAAAAAAAAAAAAAAAAA"] {
            XCTAssertNil(EngineIOHandshake.loopIndex(ofSessionID: sid), sid)
        }
        XCTAssertEqual(EngineIOHandshake.loopIndex(ofSessionID: "__AAAAAAAAAAAAAAAAAA"), 4095)
        XCTAssertEqual(EngineIOHandshake.loopIndex(ofSessionID: "ABAAAAAAAAAAAAAAAAAA"), 1)
    }

    func testRequestClassification() {
        func route(_ method: HTTPMethod = .get, eio: String? = "4", transport: String? = "polling", sid: String? = nil, upgrade: Bool = false) -> EngineIORoute {
            EngineIORoute.classify(method: method, eio: eio, transport: transport, sid: sid, isWebSocketUpgrade: upgrade)
        }
        XCTAssertEqual(route(), .openPolling)
        XCTAssertEqual(route(transport: "websocket", upgrade: true), .openWebSocket)
        XCTAssertEqual(route(sid: "s"), .poll(sid: "s"))
        XCTAssertEqual(route(.post, sid: "s"), .post(sid: "s"))
        XCTAssertEqual(route(transport: "websocket", sid: "s", upgrade: true), .upgrade(sid: "s"))
        // The errors, with their codes.
        XCTAssertEqual(route(transport: nil), .reject(.unknownTransport))
        XCTAssertEqual(route(transport: "abc"), .reject(.unknownTransport))
        XCTAssertEqual(route(eio: nil), .reject(.unsupportedProtocolVersion))
        XCTAssertEqual(route(eio: "abc"), .reject(.unsupportedProtocolVersion))
        XCTAssertEqual(route(eio: "3"), .reject(.unsupportedProtocolVersion))
        XCTAssertEqual(route(.post), .reject(.badHandshakeMethod))
        // A transport the configuration does not enable is unknown (`transports`).
        XCTAssertEqual(EngineIORoute.classify(method: .get, eio: "4", transport: "polling", sid: nil, isWebSocketUpgrade: false,
                                              enabled: [.websocket]), .reject(.unknownTransport))
        XCTAssertEqual(EngineIORoute.classify(method: .get, eio: "4", transport: "websocket", sid: "s", isWebSocketUpgrade: true,
                                              enabled: [.polling]), .reject(.unknownTransport))
        XCTAssertEqual(route(.put), .reject(.badHandshakeMethod))
        XCTAssertEqual(route(.put, sid: "s"), .reject(.badRequest))
        XCTAssertEqual(route(transport: "websocket"), .reject(.badRequest))
        XCTAssertEqual(route(transport: "polling", upgrade: true), .reject(.badRequest))
        XCTAssertEqual(route(sid: ""), .openPolling)
        XCTAssertEqual(EngineIORequestError.unknownSessionID.body, #"{"code":1,"message":"Session ID unknown"}"#)
        XCTAssertEqual(EngineIORequestError.unknownTransport.body, #"{"code":0,"message":"Transport unknown"}"#)
        XCTAssertEqual(EngineIORequestError.unsupportedProtocolVersion.statusCode, 400)
        XCTAssertEqual(EngineIORequestError.forbidden.statusCode, 403)
    }
}
