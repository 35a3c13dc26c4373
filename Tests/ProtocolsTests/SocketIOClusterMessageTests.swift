import Protocols
import XCTest

/// The wire form of cluster-wide operations (socketsJoin, socketsLeave, disconnectSockets,
/// fetchSockets, serverSideEmit) between loops and processes: exact, round-tripping, and every
/// malformed input a typed error, never a trap.
final class SocketIOClusterMessageTests: XCTestCase {
    typealias Message = SocketIOClusterMessage

    static let samples: [Message] = [
        Message(namespace: "/chat", rooms: ["b", "a"], except: ["x"], operation: .join(["r1", "r2"])),
        Message(namespace: "/", operation: .leave([])),
        Message(namespace: "/", rooms: ["r"], operation: .disconnect(close: true)),
        Message(namespace: "/", operation: .disconnect(close: false)),
        Message(id: .max, timeoutMilliseconds: 5000, namespace: "/chat", rooms: ["r"], operation: .fetch),
        Message(id: 7, timeoutMilliseconds: 0, namespace: "/", operation: .serverSideEmit(json: Array(#"["e",1]"#.utf8), attachments: [[0, 255], []], wantsAck: true)),
        Message(namespace: "/", operation: .serverSideEmit(json: Array(#"["e"]"#.utf8), attachments: [], wantsAck: false)),
    ]

    func testWireFormIsExact() {
        XCTAssertEqual(String(decoding: Self.samples[0].encoded, as: UTF8.self), "sioQ1:01:01:j5:/chat2:1:a1:b1:1:x2:2:r12:r2")
        XCTAssertEqual(String(decoding: Self.samples[4].encoded, as: UTF8.self), "sioQ20:184467440737095516154:50001:f5:/chat1:1:r0:")
        XCTAssertEqual(String(decoding: Self.samples[6].encoded, as: UTF8.self), #"sioQ1:01:01:e1:/0:0:1:05:["e"]0:"#)
    }

    func testRoundTrips() throws {
        for m in Self.samples {
            XCTAssertEqual(try Message(decoding: m.encoded), m)
            XCTAssertTrue(m.encoded.withUnsafeBytes { Message.isMessage($0) })
        }
    }

    func testMalformedInputsGetTheirError() {
        let cases: [(String, Message.DecodingError)] = [
            ("", .unknownFormat),
            ("sio1", .unknownFormat),
            ("sioQ", .truncated),
            ("sioQ1:x1:01:f1:/0:0:", .truncated),                 // id not a number
            ("sioQ1:02:-11:f1:/0:0:", .truncated),                // negative timeout
            ("sioQ1:09:864000011:f1:/0:0:", .truncated),          // more than a day
            ("sioQ1:01:01:z1:/0:0:", .unknownFormat),              // no such operation
            ("sioQ1:01:01:f4:chat0:0:", .invalidNamespace),
            ("sioQ1:01:01:f1:/0:0:x", .trailingBytes),
            ("sioQ1:01:01:d1:/0:0:1:2", .truncated),               // close flag neither 0 nor 1
            ("sioQ1:01:01:e1:/0:0:1:12:[]", .truncated),           // no attachment count
            ("sioQ1:01:01:j1:/0:0:5:1:a", .truncated),             // fewer rooms than said
            ("sioQ1:01:01:f1:/999999999:", .truncated),            // a huge count on a short input
        ]
        for (input, expected) in cases {
            XCTAssertThrowsError(try Message(decoding: Array(input.utf8)), input) { error in
                XCTAssertEqual(error as? Message.DecodingError, expected, input)
            }
        }
    }

    func testEveryTruncationAndRandomMutationIsAnErrorNotATrap() {
        var generator = SystemRandomNumberGenerator()
        for m in Self.samples {
            let good = m.encoded
            for n in 0..<good.count { XCTAssertThrowsError(try Message(decoding: Array(good.prefix(n)))) }
            for _ in 0..<300 {
                var bytes = good
                let i = Int.random(in: 4..<bytes.count, using: &generator)
                bytes[i] = UInt8.random(in: 0...255, using: &generator)
                if let decoded = try? Message(decoding: bytes) {
                    XCTAssertEqual(try Message(decoding: decoded.encoded), decoded)
                }
            }
        }
    }
}
