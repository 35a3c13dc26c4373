import Protocols
import XCTest

/// `LogText`: peer text escaped and capped before it reaches a log line.
final class LogTextTests: XCTestCase {
    func escape(_ bytes: [UInt8], limit: Int = LogText.defaultLimit) -> String {
        bytes.withUnsafeBytes { LogText.escape($0, limit: limit) }
    }

    func testPlainTextIsUnchanged() {
        XCTAssertEqual(LogText.escape("GET /chat?room=lobby"), "GET /chat?room=lobby")
        XCTAssertEqual(LogText.escape("café 🎉"), "café 🎉")
        XCTAssertEqual(LogText.escape(""), "")
    }

    func testLineBreaksAndControlsAreWrittenOut() {
        XCTAssertEqual(LogText.escape("a\nb\rc\td"), #"a\nb\rc\td"#)
        XCTAssertEqual(LogText.escape("fake\n[warn] line"), #"fake\n[warn] line"#)
        XCTAssertEqual(escape([0x00, 0x07, 0x1B, 0x5B, 0x33, 0x31, 0x6D, 0x7F]), #"\x00\x07\x1B[31m\x7F"#)
        // A backslash is doubled, so an escape in the log is never the peer's own spelling.
        XCTAssertEqual(LogText.escape(#"a\nb"#), #"a\\nb"#)
        // C1 controls (U+009B is a one-byte CSI to some terminals) and Unicode line separators.
        XCTAssertEqual(LogText.escape("x\u{9B}y\u{85}z\u{2028}w\u{2029}"), #"x\u{009B}y\u{0085}z\u{2028}w\u{2029}"#)
        for b in UInt8(0)..<0x20 {
            XCTAssertFalse(escape([b]).utf8.contains { $0 < 0x20 }, "byte \(b)")
        }
    }

    func testInvalidUTF8IsReplaced() {
        XCTAssertEqual(escape([0x61, 0xFF, 0x62]), "a\u{FFFD}b")
        XCTAssertEqual(escape([0xC3]), "\u{FFFD}")
        XCTAssertEqual(escape([0xED, 0xA0, 0x80]), "\u{FFFD}\u{FFFD}\u{FFFD}")  // a surrogate, as the standard library repairs it
    }

    func testLongTextIsCappedWithItsLength() {
        let long = String(repeating: "a", count: 100_000)
        let out = LogText.escape(long, limit: 10)
        XCTAssertEqual(out, "aaaaaaaaaa…[100000 bytes in all]")
        XCTAssertEqual(LogText.escape(String(repeating: "b", count: 300)).utf8.count, 256 + "…[300 bytes in all]".utf8.count)
        // Exactly at the cap: nothing cut, no marker.
        XCTAssertEqual(LogText.escape("abcd", limit: 4), "abcd")
        // The cap counts escaped bytes and never splits an escape or a character.
        XCTAssertEqual(LogText.escape("ab\ncd", limit: 3), "ab…[5 bytes in all]")
        XCTAssertEqual(LogText.escape("aé", limit: 2), "a…[3 bytes in all]")
        XCTAssertEqual(LogText.escape("\n\n\n", limit: 0), "…[3 bytes in all]")
        // A multi-byte character cut by the prefix the helper reads is not shown as U+FFFD.
        let emoji = String(repeating: "🎉", count: 10)
        XCTAssertEqual(LogText.escape(emoji, limit: 9), "🎉🎉…[40 bytes in all]")
        XCTAssertEqual(LogText.escape("abc", limit: .max), "abc")
    }
}
