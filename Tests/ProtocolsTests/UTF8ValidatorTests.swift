import ReactorTestSupport
import XCTest
@testable import Protocols

final class UTF8ValidatorTests: XCTestCase {
    // MARK: - Helpers

    /// Validates `bytes` in one call: (result, isComplete).
    private func whole(_ bytes: [UInt8]) -> (Bool, Bool) {
        var v = UTF8Validator()
        let ok = bytes.withUnsafeBytes { v.validate($0) }
        return (ok, v.isComplete)
    }

    /// Feeds `bytes` one at a time; returns the index of the byte whose call returned false, or
    /// nil when none did. This is the fail-fast position.
    private func failIndex(_ bytes: [UInt8]) -> Int? {
        var v = UTF8Validator()
        for (i, b) in bytes.enumerated() where ![b].withUnsafeBytes({ v.validate($0) }) {
            return i
        }
        return nil
    }

    /// Feeds `bytes` in the pieces `cuts` marks (sorted offsets); returns the index of the piece
    /// that returned false (or nil) and the final isComplete.
    private func fed(_ bytes: [UInt8], cuts: [Int]) -> (failedPiece: Int?, complete: Bool) {
        var v = UTF8Validator()
        let bounds = [0] + cuts + [bytes.count]
        var failedPiece: Int?
        bytes.withUnsafeBytes { all in
            for k in 0..<(bounds.count - 1) {
                let ok = v.validate(UnsafeRawBufferPointer(rebasing: all[bounds[k]..<bounds[k + 1]]))
                if !ok && failedPiece == nil { failedPiece = k }
                // Once failed, always failed.
                if failedPiece != nil { XCTAssertFalse(ok) }
            }
        }
        return (failedPiece, v.isComplete)
    }

    private func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// "κόσμε", the Kuhn test string Autobahn builds its cases around (11 bytes).
    private let kosme: [UInt8] = [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5]

    // MARK: - Known cases

    func testValidText() {
        let texts = [
            "", "a", "Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "日本語のテキスト", "🎉🇫🇷👩‍👩‍👧", String(repeating: "json", count: 40),
            "\u{0}\u{7F}\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFD}\u{FFFE}\u{FFFF}\u{10000}\u{10FFFF}",
            "0123456€89abcdef", "01234567€9abcdef", "ascii then 𝄞 at an odd offset, then more ascii to skip",
        ]
        for text in texts {
            let (ok, complete) = whole(utf8(text))
            XCTAssertTrue(ok && complete, text)
            XCTAssertTrue(utf8(text).withUnsafeBytes { UTF8Validator.isValid($0) }, text)
        }
        // Noncharacters are valid UTF-8 (Autobahn 6.22, 6.23).
        for bytes: [UInt8] in [[0xEF, 0xBF, 0xBE], [0xEF, 0xBF, 0xBF], [0xF0, 0x9F, 0xBF, 0xBE], [0xF4, 0x8F, 0xBF, 0xBF],
                               [0xEF, 0xB7, 0x90], [0xEF, 0xB7, 0xAF]] {
            XCTAssertNil(failIndex(bytes))
            XCTAssertTrue(whole(bytes) == (true, true), "\(bytes)")
        }
    }

    /// Invalid sequences from the Kuhn stress test that Autobahn's cases 6.x send, each with
    /// the index of the first byte that no valid text can continue with.
    func testInvalidSequencesFailAtTheFirstImpossibleByte() {
        let cases: [([UInt8], Int, String)] = [
            (kosme + [0xED, 0xA0, 0x80] + utf8("edited"), 12, "6.3.1 surrogate inside text"),
            (kosme + [0xF4, 0x90, 0x80, 0x80] + utf8("edited"), 12, "6.4.1 above U+10FFFF"),
            (kosme + [0xF4, 0x90, 0x80, 0x80], 12, "6.4.2"),
            ([0xF8, 0x88, 0x80, 0x80, 0x80], 0, "6.8.1 five-byte form"),
            ([0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], 0, "6.8.2 six-byte form"),
            ([0xF7, 0xBF, 0xBF, 0xBF], 0, "6.10.3 U+1FFFFF"),
            ([0xF4, 0x90, 0x80, 0x80], 1, "6.11.5 U+110000"),
            ([0x80], 0, "6.12.1 lone first continuation"),
            ([0xBF], 0, "6.12.2 lone last continuation"),
            ([0x80, 0xBF], 0, "6.12.3"),
            ([0x61, 0x80, 0xBF, 0x80], 1, "6.12.5 continuation after ASCII"),
            ([0xC0, 0x20], 0, "6.13.1 C0 is never valid"),
            ([0xC2, 0x20], 1, "6.13.1 lonely two-byte start"),
            ([0xE0, 0x20], 1, "6.13.2 lonely three-byte start"),
            ([0xF0, 0x20], 1, "6.13.3 lonely four-byte start"),
            ([0xE0, 0x80], 1, "6.14.2 truncated and overlong"),
            ([0xF0, 0x80, 0x80], 1, "6.14.3 truncated and overlong"),
            ([0xC2, 0xE1, 0x80], 1, "6.15 concatenated incomplete sequences"),
            ([0xFE], 0, "6.16.1"), ([0xFF], 0, "6.16.2"), ([0xFE, 0xFE, 0xFF, 0xFF], 0, "6.16.3"),
            ([0xC0, 0xAF], 0, "6.17.1 overlong /"), ([0xE0, 0x80, 0xAF], 1, "6.17.2"), ([0xF0, 0x80, 0x80, 0xAF], 1, "6.17.3"),
            ([0xC1, 0xBF], 0, "6.18.1 maximal overlong"), ([0xE0, 0x9F, 0xBF], 1, "6.18.2"), ([0xF0, 0x8F, 0xBF, 0xBF], 1, "6.18.3"),
            ([0xC0, 0x80], 0, "6.19.1 overlong NUL"), ([0xE0, 0x80, 0x80], 1, "6.19.2"), ([0xF0, 0x80, 0x80, 0x80], 1, "6.19.3"),
            ([0xED, 0xA0, 0x80], 1, "6.20.1 U+D800"), ([0xED, 0xAD, 0xBF], 1, "6.20.2 U+DB7F"),
            ([0xED, 0xAE, 0x80], 1, "6.20.3 U+DB80"), ([0xED, 0xAF, 0xBF], 1, "6.20.4 U+DBFF"),
            ([0xED, 0xB0, 0x80], 1, "6.20.5 U+DC00"), ([0xED, 0xBE, 0x80], 1, "6.20.6 U+DF80"),
            ([0xED, 0xBF, 0xBF], 1, "6.20.7 U+DFFF"),
            ([0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80], 1, "6.21.1 paired surrogates"),
            ([0xF5, 0x80, 0x80, 0x80], 0, "F5 is never valid"),
            (utf8("01234567") + [0xC3, 0x28], 9, "bad continuation after a fast-path word"),
            (utf8("0123456789abcdef01234567") + [0xFF] + utf8("01234567"), 24, "invalid byte inside an ASCII run"),
        ]
        for (bytes, index, name) in cases {
            XCTAssertEqual(failIndex(bytes), index, name)
            XCTAssertFalse(whole(bytes).0, name)
            XCTAssertFalse(whole(bytes).1, name)
        }
    }

    /// A prefix cut inside a character is valid so far but not complete (Autobahn 6.6, 6.14).
    func testTruncatedSequencesAreIncompleteNotInvalid() {
        for cut in 0...kosme.count {
            let (ok, complete) = whole(Array(kosme[0..<cut]))
            XCTAssertTrue(ok, "cut \(cut)")
            XCTAssertEqual(complete, [0, 2, 5, 7, 9, 11].contains(cut), "cut \(cut)")
        }
        // (truncated prefix, the bytes that complete it)
        let truncated: [([UInt8], [UInt8])] = [
            ([0xC2], [0x80]), ([0xDF], [0xBF]), ([0xE0, 0xA0], [0x80]), ([0xE1, 0x80], [0x80]), ([0xED, 0x9F], [0xBF]),
            ([0xEF, 0xBF], [0xBF]), ([0xF0, 0x90, 0x80], [0x80]), ([0xF1, 0x80, 0x80], [0x80]), ([0xF4, 0x8F, 0xBF], [0xBF]),
            ([0xF3], [0xBF, 0xBF, 0xBF]), ([0xE0], [0xA0, 0x80]), ([0xF4], [0x8F, 0xBF, 0xBF]),
        ]
        for (prefix, rest) in truncated {
            XCTAssertTrue(whole(prefix) == (true, false), "\(prefix)")
            XCTAssertTrue(whole(prefix + rest) == (true, true), "\(prefix + rest)")
        }
    }

    func testFailureIsStickyAndResetClearsIt() {
        var v = UTF8Validator()
        XCTAssertFalse(([0xFF] as [UInt8]).withUnsafeBytes { v.validate($0) })
        XCTAssertTrue(v.hasFailed)
        XCTAssertFalse(v.isComplete)
        XCTAssertFalse(utf8("fine").withUnsafeBytes { v.validate($0) })
        XCTAssertFalse(v.validate(UnsafeRawBufferPointer(start: nil, count: 0)))
        v.reset()
        XCTAssertFalse(v.hasFailed)
        XCTAssertTrue(v.isComplete)
        XCTAssertTrue(([0xE2, 0x82] as [UInt8]).withUnsafeBytes { v.validate($0) })
        XCTAssertFalse(v.isComplete)
        v.reset()  // reset also forgets a sequence in progress
        XCTAssertTrue(v.isComplete)
        XCTAssertFalse(([0xAC] as [UInt8]).withUnsafeBytes { v.validate($0) })
    }

    // MARK: - Splits

    /// Every way of cutting these texts into two or three pieces gives the same verdict as one
    /// call, and an invalid text fails in the piece that holds its first impossible byte.
    func testEverySplitPosition() {
        let texts: [[UInt8]] = [
            utf8("Hello-µ@ßöäüàá-UTF-8!!"), kosme, utf8("a€𝄞b日本語🎉z0123456789"),
            utf8("\u{10FFFF}\u{800}\u{80}\u{10000}"),
            kosme + [0xF4, 0x90, 0x80, 0x80] + utf8("edited"),
            utf8("abcdefgh𝄞") + [0xED, 0xA0, 0x80] + utf8("abcdefghij"),
            utf8("€€€") + [0xE2, 0x82],  // valid but ends inside a character
        ]
        for text in texts {
            let expectedFail = failIndex(text)
            let (_, expectedComplete) = whole(text)
            for i in 0...text.count {
                for j in i...text.count {
                    let (failedPiece, complete) = fed(text, cuts: [i, j])
                    if let f = expectedFail {
                        XCTAssertEqual(failedPiece, f < i ? 0 : f < j ? 1 : 2, "\(text) cut at \(i), \(j)")
                    } else {
                        XCTAssertNil(failedPiece, "\(text) cut at \(i), \(j)")
                        XCTAssertEqual(complete, expectedComplete, "\(text) cut at \(i), \(j)")
                    }
                }
            }
        }
    }

    // MARK: - Against the standard library

    /// Whether some bytes can follow `prefix` to make valid UTF-8. The bounds on the first
    /// continuation byte split 80...BF at 90 and A0, so trying 80, 90 and A0 first, then 80s,
    /// covers every case (see the table in UTF8Validator.swift).
    private func viable(_ prefix: ArraySlice<UInt8>) -> Bool {
        if String(validating: prefix, as: UTF8.self) != nil { return true }
        for extra in 1...3 {
            for first: UInt8 in [0x80, 0x90, 0xA0] {
                let candidate = Array(prefix) + [first] + [UInt8](repeating: 0x80, count: extra - 1)
                if String(validating: candidate, as: UTF8.self) != nil { return true }
            }
        }
        return false
    }

    /// 100,000 random arrays, mostly valid or nearly so: one call, one byte at a time, and random
    /// pieces all agree with `String(validating:as:)`, and the byte-at-a-time failure lands on the
    /// first byte after which no completion is valid.
    func testDifferentialAgainstStandardLibrary() {
        var rng = SplitMix64(seed: 6455)
        var counts = (valid: 0, incomplete: 0, invalid: 0)
        for round in 0..<100_000 {
            let bytes = randomNearUTF8(&rng)
            let oracle = String(validating: bytes, as: UTF8.self) != nil
            let (ok, complete) = whole(bytes)
            XCTAssertEqual(ok && complete, oracle, "round \(round): \(hex(bytes))")

            let fail = failIndex(bytes)
            XCTAssertEqual(fail == nil, ok, "round \(round): \(hex(bytes))")
            if let f = fail {
                counts.invalid += 1
                XCTAssertTrue(viable(bytes[0..<f]), "round \(round): failed too early at \(f): \(hex(bytes))")
                XCTAssertFalse(viable(bytes[0...f]), "round \(round): failed too late at \(f): \(hex(bytes))")
            } else if !complete {
                counts.incomplete += 1
                XCTAssertTrue(viable(bytes[...]), "round \(round): \(hex(bytes))")
            } else {
                counts.valid += 1
            }

            var cuts = (0..<Int.random(in: 0...4, using: &rng)).map { _ in Int.random(in: 0...bytes.count, using: &rng) }
            cuts.sort()
            let (failedPiece, splitComplete) = fed(bytes, cuts: cuts)
            if let f = fail {
                // The failing piece is the one whose range holds byte f (empty pieces hold nothing).
                let bounds = [0] + cuts + [bytes.count]
                let piece = (0..<(bounds.count - 1)).first { bounds[$0] <= f && f < bounds[$0 + 1] }
                XCTAssertEqual(failedPiece, piece, "round \(round): \(hex(bytes)) cuts \(cuts)")
            } else {
                XCTAssertNil(failedPiece, "round \(round): \(hex(bytes)) cuts \(cuts)")
                XCTAssertEqual(splitComplete, complete, "round \(round): \(hex(bytes)) cuts \(cuts)")
            }
        }
        // The generator must reach all three outcomes in earnest.
        XCTAssertGreaterThan(counts.valid, 30_000)
        XCTAssertGreaterThan(counts.invalid, 30_000)
        XCTAssertGreaterThan(counts.incomplete, 3_000)
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }

    /// Random bytes built from pieces: ASCII runs long enough for the 8-byte fast path, valid
    /// scalars of every length, boundary scalars, and, in about half the arrays, one near-miss
    /// (overlong, surrogate, above U+10FFFF, stray continuation, truncated sequence, bad lead),
    /// sometimes a cut tail, rarely pure noise.
    private func randomNearUTF8(_ rng: inout SplitMix64) -> [UInt8] {
        if Int.random(in: 0..<50, using: &rng) == 0 {
            return (0..<Int.random(in: 0...12, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        var out: [UInt8] = []
        let pieces = Int.random(in: 0...6, using: &rng)
        let corruptAt = Bool.random(using: &rng) ? Int.random(in: 0...pieces, using: &rng) : -1
        for p in 0...pieces {
            if p == corruptAt { out += nearMiss(&rng) }
            guard p < pieces else { break }
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: out += (0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
            case 1: out += encode(randomScalar(&rng))
            case 2: out += encode([0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF].randomElement(using: &rng)!)
            default: out += encode(UInt32.random(in: 0x80...0x7FF, using: &rng)) + encode(UInt32.random(in: 0x800...0xD7FF, using: &rng))
            }
        }
        if !out.isEmpty && Int.random(in: 0..<8, using: &rng) == 0 {
            out.removeLast(Int.random(in: 1...min(3, out.count), using: &rng))
        }
        return out
    }

    private func nearMiss(_ rng: inout SplitMix64) -> [UInt8] {
        let cont = { (rng: inout SplitMix64) in UInt8.random(in: 0x80...0xBF, using: &rng) }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return [UInt8.random(in: 0xC0...0xC1, using: &rng), cont(&rng)]  // overlong two-byte
        case 1: return [0xE0, UInt8.random(in: 0x80...0x9F, using: &rng), cont(&rng)]  // overlong three-byte
        case 2: return [0xED, UInt8.random(in: 0xA0...0xBF, using: &rng), cont(&rng)]  // surrogate
        case 3: return [0xF0, UInt8.random(in: 0x80...0x8F, using: &rng), cont(&rng), cont(&rng)]  // overlong four-byte
        case 4: return [0xF4, UInt8.random(in: 0x90...0xBF, using: &rng), cont(&rng), cont(&rng)]  // above U+10FFFF
        case 5: return [UInt8.random(in: 0xF5...0xFF, using: &rng)] + (0..<3).map { _ in cont(&rng) }  // bad lead
        case 6: return (0..<Int.random(in: 1...3, using: &rng)).map { _ in cont(&rng) }  // stray continuations
        case 7: return Array(encode(randomScalar(&rng)).dropLast())  // truncated, then more text
        case 8:  // a valid sequence with one continuation byte swapped for a non-continuation
            var s = encode(UInt32.random(in: 0x800...0xD7FF, using: &rng))
            s[Int.random(in: 1..<s.count, using: &rng)] = [0x41, 0xC3, 0xE2, 0xF0, 0xFF].randomElement(using: &rng)!
            return s
        default: return [UInt8.random(in: 0...255, using: &rng)]
        }
    }

    private func randomScalar(_ rng: inout SplitMix64) -> UInt32 {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return UInt32.random(in: 0...0x7F, using: &rng)
        case 1: return UInt32.random(in: 0x80...0x7FF, using: &rng)
        case 2: return Bool.random(using: &rng) ? UInt32.random(in: 0x800...0xD7FF, using: &rng) : UInt32.random(in: 0xE000...0xFFFF, using: &rng)
        default: return UInt32.random(in: 0x10000...0x10FFFF, using: &rng)
        }
    }

    private func encode(_ scalar: UInt32) -> [UInt8] {
        Array(String(Character(Unicode.Scalar(scalar)!)).utf8)
    }
}
