import Protocols
import ReactorTestSupport
import XCTest

/// The message a relayed Socket.IO broadcast travels in (between loops, and on Redis channels):
/// its exact bytes, round trips, and a defined error (never a trap) for every malformed input.
final class SocketIOBroadcastEnvelopeTests: XCTestCase {
    typealias Envelope = SocketIOBroadcastEnvelope

    func packet(_ p: SocketIOPacket) -> [UInt8] { SocketIOPacketEncoder.encode(p) }

    func testWireFormIsExact() {
        let e = Envelope(namespace: "/chat", rooms: ["r1"], except: ["sid-1"],
                         packet: Array(#"2/chat,["chat","hi"]"#.utf8))
        XCTAssertEqual(String(decoding: e.encoded, as: UTF8.self), #"sio15:/chat1:2:r11:5:sid-120:2/chat,["chat","hi"]0:"#)
        // The main namespace, no rooms (the whole namespace), a binary event with two attachments.
        let b = Envelope(namespace: "/", packet: Array(#"52-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#.utf8),
                         attachments: [[0, 1, 2], []])
        XCTAssertEqual(b.encoded, Array(#"sio11:/0:0:69:52-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]2:3:"#.utf8) + [0, 1, 2] + Array("0:".utf8))
    }

    func testRoomsAreWrittenSortedSoOneBroadcastHasOneEncoding() {
        let rooms: Set<String> = ["b", "a", "c", "aa", "10"]
        let e = Envelope(namespace: "/", rooms: rooms, except: ["z", "y"], packet: Array(#"2["x"]"#.utf8))
        XCTAssertEqual(String(decoding: e.encoded, as: UTF8.self), #"sio11:/5:2:101:a2:aa1:b1:c2:1:y1:z6:2["x"]0:"#)
    }

    func testRoundTrips() throws {
        var random = SplitMix64(seed: 7)
        let names = ["/", "/chat", "/a:b", "/ü/ñ", "/2"]
        for n in 0..<300 {
            let namespace = names[n % names.count]
            let roomPool = ["", "r", "r:1", "12:", "ümlaut", "sid-\(n)", String(repeating: "x", count: 300), "a,b"]
            var rooms = Set<String>(), except = Set<String>()
            for room in roomPool where random.next() % 3 == 0 { rooms.insert(room) }
            for room in roomPool where random.next() % 4 == 0 { except.insert(room) }
            var args = SocketIOArguments([.string("e\(n)"), .string("text with : and \" and 5-")])
            for _ in 0..<Int(random.next() % 3) { args.append(binary: pattern(Int(random.next() % 2000), seed: n)) }
            let p = SocketIOPacket(.event, namespace: namespace, data: .array(args.values), attachments: args.attachments)
            let e = Envelope(namespace: namespace, rooms: rooms, except: except, packet: packet(p), attachments: args.attachments)
            XCTAssertEqual(try Envelope(decoding: e.encoded), e)
            // The borrowed-packet encoder writes the same bytes.
            XCTAssertEqual(e.packet.withUnsafeBytes {
                Envelope.encode(namespace: namespace, rooms: rooms, except: except, packet: $0, attachments: args.attachments)
            }, e.encoded)
        }
    }

    func testEveryTruncationIsAnErrorNotATrap() {
        var args = SocketIOArguments([.string("news")])
        args.append(binary: [9, 8, 7])
        let p = SocketIOPacket(.event, namespace: "/chat", data: .array(args.values), attachments: args.attachments)
        let full = Envelope(namespace: "/chat", rooms: ["r1", "r2"], except: ["me"], packet: packet(p), attachments: args.attachments).encoded
        for n in 0..<full.count {
            XCTAssertThrowsError(try Envelope(decoding: Array(full[0..<n])), "prefix of \(n) bytes")
        }
        XCTAssertThrowsError(try Envelope(decoding: full + [0x30])) { XCTAssertEqual($0 as? Envelope.DecodingError, .trailingBytes) }
    }

    func testMalformedInputsGetTheirError() {
        func error(_ text: String) -> Envelope.DecodingError? {
            do {
                _ = try Envelope(decoding: Array(text.utf8))
                return nil
            } catch {
                return error
            }
        }
        XCTAssertEqual(error(""), .unknownFormat)
        XCTAssertEqual(error("sio2" + #"1:/0:0:6:2["x"]0:"#), .unknownFormat)
        XCTAssertEqual(error("hello world"), .unknownFormat)
        XCTAssertEqual(error(#"sio11:/0:0:6:2["x"]0:"#) , nil, "the well-formed reference")
        XCTAssertEqual(error(#"sio1x:/0:0:6:2["x"]0:"#), .truncated, "a length that is not a number")
        XCTAssertEqual(error(#"sio11/0:0:6:2["x"]0:"#), .truncated, "a length without its colon")
        XCTAssertEqual(error(#"sio19999999999:/"#), .truncated, "a length of more than nine digits")
        XCTAssertEqual(error(#"sio11:/999999999:"#), .truncated, "a count far beyond the input allocates nothing")
        XCTAssertEqual(error(#"sio11:/0:0:60:2["x"]0:"#), .truncated, "a length beyond the input")
        XCTAssertEqual(error(#"sio14:chat0:0:10:2chat,["x"]0:"#), .invalidNamespace)
        XCTAssertEqual(error(#"sio10:0:0:6:2["x"]0:"#), .invalidNamespace)
        // The packet must be an event of that namespace, its attachments as many as it says.
        XCTAssertEqual(error(#"sio15:/chat0:0:6:2["x"]0:"#), .invalidPacket, "a main-namespace packet under /chat")
        XCTAssertEqual(error(#"sio11:/0:0:12:2/chat,["x"]0:"#), .invalidPacket, "a /chat packet under /")
        XCTAssertEqual(error(#"sio15:/chat0:0:12:2/chatx["x"]0:"#), .invalidPacket)
        XCTAssertEqual(error(#"sio15:/chat0:0:13:2/chat2,["x"]0:"#), .invalidPacket, "another namespace sharing a prefix")
        XCTAssertEqual(error(#"sio11:/0:0:6:0["x"]0:"#), .invalidPacket, "a CONNECT packet")
        XCTAssertEqual(error(#"sio11:/0:0:6:3["x"]0:"#), .invalidPacket, "an ACK packet")
        XCTAssertEqual(error(#"sio11:/0:0:0:0:"#), .invalidPacket, "an empty packet")
        XCTAssertEqual(error(#"sio11:/0:0:8:51-["x"]0:"#), .invalidPacket, "a binary event without its attachment")
        XCTAssertEqual(error(#"sio11:/0:0:6:2["x"]1:1:a"#), .invalidPacket, "an attachment to a text event")
        XCTAssertEqual(error(#"sio11:/0:0:7:5-["x"]1:1:a"#), .invalidPacket, "a binary event without its count")
        XCTAssertEqual(error(#"sio11:/0:0:8:51-["x"]1:1:a"#), nil)
    }

    func testRandomBytesAndMutationsNeverTrap() {
        var random = SplitMix64(seed: 42)
        let p = SocketIOPacket(.event, namespace: "/chat", data: ["chat", ["room": "r", "text": "hello"]])
        let valid = Envelope(namespace: "/chat", rooms: ["r"], except: ["sid"], packet: packet(p)).encoded
        for _ in 0..<20_000 {
            var bytes = valid
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let i = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[i] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8(ascii: ["0", "9", ":", "/", "5", "-"][Int(random.next() % 6)]), at: i)
                }
            }
            // Whatever still decodes is a well-formed envelope: it round-trips.
            if let decoded = try? Envelope(decoding: bytes) {
                XCTAssertEqual(try? Envelope(decoding: decoded.encoded), decoded)
            }
        }
        for _ in 0..<5_000 {
            let bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? Envelope(decoding: Array("sio1".utf8) + bytes)
        }
    }
}
