import Protocols
import ReactorTestSupport
import XCTest

/// The frame decoder and the message layer, without sockets: every rule, and every split.
final class WebSocketEndpointTests: XCTestCase {
    let hello = Array("Hello".utf8)

    func testSingleFramesOfEachKind() {
        XCTAssertEqual(runEndpoint(clientFrame(0x1, hello)), [.text("Hello")])
        XCTAssertEqual(runEndpoint(clientFrame(0x2, [0, 1, 255])), [.binary([0, 1, 255])])
        XCTAssertEqual(runEndpoint(clientFrame(0x9, [7])), [.ping([7])])
        XCTAssertEqual(runEndpoint(clientFrame(0xA, [])), [.pong([])])
        XCTAssertEqual(runEndpoint(clientFrame(0x8, [0x03, 0xE8] + Array("bye".utf8))), [.close(1000, "bye")])
        XCTAssertEqual(runEndpoint(clientFrame(0x8, [])), [.close(1005, "")])
    }

    func testLengthEncodings() {
        for n in [0, 1, 125, 126, 127, 65535, 65536, 100_000] {
            let payload = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            XCTAssertEqual(runEndpoint(clientFrame(0x2, payload)), [.binary(payload)], "length \(n)")
        }
    }

    func testFragmentedMessageWithControlFramesInterleaved() {
        let input = clientFrame(0x1, Array("Hel".utf8), fin: false)
            + clientFrame(0x9, [1])
            + clientFrame(0x0, Array("lo, ".utf8), fin: false)
            + clientFrame(0xA, [2])
            + clientFrame(0x0, Array("wörld".utf8), fin: true)
        XCTAssertEqual(runEndpoint(input), [.ping([1]), .pong([2]), .text("Hello, wörld")])
    }

    func testEveryByteSplitGivesTheSameEvents() {
        let input = clientFrame(0x1, Array("fragment one ".utf8), fin: false)
            + clientFrame(0x9, Array("ping".utf8))
            + clientFrame(0x0, Array("and two: ünïcödé".utf8), fin: true)
            + clientFrame(0x2, (0..<300).map { UInt8($0 & 0xFF) })
            + clientFrame(0x8, [0x03, 0xE9])
        let whole = runEndpoint(input)
        XCTAssertEqual(whole.count, 4)
        for cut in 1..<input.count {
            XCTAssertEqual(runEndpoint(input, splits: [cut]), whole, "split at \(cut)")
        }
        // And one byte at a time.
        XCTAssertEqual(runEndpoint(input, splits: Array(1..<input.count)), whole)
    }

    func testProtocolErrorsCloseWith1002() {
        let cases: [(String, [UInt8])] = [
            ("unmasked client frame", [0x81, 0x02, 0x68, 0x69]),
            ("reserved bit", clientFrame(0x1, hello, rsv: 0x2)),
            ("RSV1 without deflate", clientFrame(0x1, hello, rsv: 0x4)),
            ("reserved opcode 3", clientFrame(0x3, [])),
            ("reserved opcode 0xB", clientFrame(0xB, [])),
            ("fragmented ping", clientFrame(0x9, [], fin: false)),
            ("ping over 125 bytes", clientFrame(0x9, Array(repeating: 1, count: 126))),
            ("continuation without a message", clientFrame(0x0, hello)),
            ("new message inside a fragmented one", clientFrame(0x1, hello, fin: false) + clientFrame(0x1, hello)),
            ("close with one byte", clientFrame(0x8, [0x03])),
            ("close code 1005 on the wire", clientFrame(0x8, [0x03, 0xED])),
            ("close code 999", clientFrame(0x8, [0x03, 0xE7])),
            ("close code 2000", clientFrame(0x8, [0x07, 0xD0])),
            ("non-minimal 16-bit length", [0x82, 0x80 | 126, 0x00, 0x05, 1, 2, 3, 4, 0, 0, 0, 0, 0]),
        ]
        for (name, input) in cases {
            XCTAssertEqual(runEndpoint(input).last, .failure(1002), name)
        }
    }

    func testInvalidUTF8FailsWith1007AndFailsFast() {
        XCTAssertEqual(runEndpoint(clientFrame(0x1, [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80])), [.failure(1007)])
        // Fail fast: the first fragment is already impossible; the rest never arrives.
        XCTAssertEqual(runEndpoint(clientFrame(0x1, [0x41, 0xF4, 0x90], fin: false)), [.failure(1007)])
        // A message that ends inside a sequence.
        XCTAssertEqual(runEndpoint(clientFrame(0x1, [0x41, 0xE2, 0x82], fin: false) + clientFrame(0x0, [], fin: true)), [.failure(1007)])
        // A close reason that is not UTF-8.
        XCTAssertEqual(runEndpoint(clientFrame(0x8, [0x03, 0xE8, 0xFF])), [.failure(1007)])
        // Split inside a valid multi-byte character across fragments is fine.
        XCTAssertEqual(runEndpoint(clientFrame(0x1, [0xE2, 0x82], fin: false) + clientFrame(0x0, [0xAC], fin: true)), [.text("€")])
    }

    func testSizeLimitsCloseWith1009() {
        var limits = WebSocketLimits()
        limits.maxFrameSize = 1000
        limits.maxMessageSize = 1500
        XCTAssertEqual(runEndpoint(clientFrame(0x2, Array(repeating: 1, count: 1001)), limits: limits), [.failure(1009)])
        let twoFrames = clientFrame(0x2, Array(repeating: 1, count: 900), fin: false) + clientFrame(0x0, Array(repeating: 2, count: 900))
        XCTAssertEqual(runEndpoint(twoFrames, limits: limits), [.failure(1009)])
    }

    func testNothingIsProcessedAfterCloseOrFailure() {
        XCTAssertEqual(runEndpoint(clientFrame(0x8, [0x03, 0xE8]) + clientFrame(0x1, hello)), [.close(1000, "")])
        XCTAssertEqual(runEndpoint(clientFrame(0x3, []) + clientFrame(0x1, hello)), [.failure(1002)])
    }

    func testCompressedMessagesInflate() throws {
        // Compress with our deflater, check the inflating endpoint restores the text, fragmented too.
        let deflater = try XCTUnwrap(WebSocketDeflater(noContextTakeover: false))
        let text = String(repeating: "compress me please, ", count: 50)
        let compressed = Array(text.utf8).withUnsafeBytes { deflater.deflate($0) }
        XCTAssertLessThan(compressed.count, text.utf8.count / 4)
        XCTAssertEqual(runEndpoint(clientFrame(0x1, compressed, rsv: 0x4), deflate: true), [.text(text)])
        let half = compressed.count / 2
        let fragmented = clientFrame(0x1, Array(compressed[..<half]), fin: false, rsv: 0x4) + clientFrame(0x0, Array(compressed[half...]))
        XCTAssertEqual(runEndpoint(fragmented, deflate: true), [.text(text)])
        // A second message reuses the context (no context takeover was not asked for).
        let second = Array(text.utf8).withUnsafeBytes { deflater.deflate($0) }
        XCTAssertEqual(runEndpoint(clientFrame(0x1, compressed, rsv: 0x4) + clientFrame(0x1, second, rsv: 0x4), deflate: true), [.text(text), .text(text)])
        // RSV1 on a continuation frame is a protocol error.
        XCTAssertEqual(runEndpoint(clientFrame(0x1, compressed, fin: false, rsv: 0x4) + clientFrame(0x0, [], rsv: 0x4), deflate: true), [.failure(1002)])
    }

    func testMaskingAWordAtATimeMatchesByteByByte() {
        for offset in 0..<4 {
            for length in [0, 1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 63, 100] {
                let key: UInt32 = 0xA1B2_C3D4
                let keyBytes: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4]
                let original = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }
                // Misalign the buffer on purpose: the fast path must cope with any start address.
                var storage = [UInt8](repeating: 0, count: length + 3)
                storage.replaceSubrange(3..<3 + length, with: original)
                storage.withUnsafeMutableBytes { raw in
                    webSocketApplyMask(UnsafeMutableRawBufferPointer(rebasing: raw[3...]), key: key, offset: offset)
                }
                let expected = original.enumerated().map { $0.element ^ keyBytes[($0.offset + offset) % 4] }
                XCTAssertEqual(Array(storage[3...]), expected, "offset \(offset) length \(length)")
            }
        }
    }
}
