import Foundation
import ReactorTestSupport
import XCTest
@testable import Protocols

/// Python's `json` module as the oracle, in both directions, one Python process per direction.
final class JSONDifferentialTests: XCTestCase {
    /// Ours writes, Python reads and writes back: the compact texts must be identical.
    func testPythonReadsAndRewritesOurOutputUnchanged() throws {
        let python = try Self.python()
        var rng = SplitMix64(seed: 2024)
        let documents = (0..<4_000).map { _ in JSONRandom.value(&rng) }
        var input: [UInt8] = []
        for document in documents {
            document.write(into: &input)
            input.append(0x0A)
        }
        let script = """
            import sys, json
            lines = sys.stdin.buffer.read().split(b"\\n")
            if lines and lines[-1] == b"": lines.pop()
            print(len(lines))
            for n, raw in enumerate(lines):
                line = raw.decode("utf-8")
                try:
                    out = json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False)
                except Exception as e:
                    print(n, "error", repr(e)); continue
                if out != line: print(n, "mismatch", out)
            """
        let output = try Self.run(python, script: script, input: input)
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        XCTAssertEqual(lines.first, String(documents.count), "Python saw a different number of lines")
        let mismatches = lines.dropFirst()
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5).joined(separator: "\n"))")
        for line in mismatches.prefix(5) {
            if let n = Int(line.split(separator: " ")[0]) { print("ours:", documents[n].serialized()) }
        }
        print("JSON differential (ours -> Python): \(documents.count) documents, \(input.count) bytes, \(mismatches.count) mismatches")
    }

    /// Python writes (ASCII-escaped or not, compact, spaced or indented, padded with
    /// whitespace); ours reads and writes compact; the result must equal Python's own compact text.
    func testWeReadPythonOutputAndRewriteItLikePython() throws {
        let python = try Self.python()
        let script = #"""
            import sys, json, random, struct, base64
            rnd = random.Random(int(sys.argv[1]))
            count = int(sys.argv[2])
            pools = [
                [chr(c) for c in range(0x20, 0x7F)],
                [chr(c) for c in range(0x00, 0x20)] + ['"', '\\', '/', '\x7f'],
                ['é', 'ß', '中', '文', '\u2028', '\u2029', '\ufeff', '\uffff', '\U0001F600', '\U0001F468\u200d\U0001F469', '\U0010FFFF'],
            ]
            def rstr():
                out = []
                for _ in range(rnd.randrange(0, 400) if rnd.random() < 0.06 else rnd.randrange(0, 24)):
                    r = rnd.random()
                    if r < 0.55: out.append(rnd.choice(pools[0]))
                    elif r < 0.7: out.append(rnd.choice(pools[1]))
                    elif r < 0.85: out.append(rnd.choice(pools[2]))
                    elif r < 0.95:
                        c = rnd.randrange(0x80, 0x10000)
                        out.append(chr(c) if not 0xD800 <= c < 0xE000 else 'x')
                    else: out.append(chr(rnd.randrange(0x10000, 0x110000)))
                return "".join(out)
            def rfloat():
                r = rnd.random()
                if r < 0.3:
                    while True:
                        f = struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0]
                        if f == f and f not in (float("inf"), float("-inf")): return f
                if r < 0.5: return rnd.choice([0.0, -0.0, 0.1, 1.5, 5.0, 1e100, 1e16, 1e15, 1e-5, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 0.30000000000000004, 9007199254740993.0, 123456789.123])
                if r < 0.75: return rnd.uniform(-1e6, 1e6)
                return rnd.randrange(-10**6, 10**6) / 10 ** rnd.randrange(0, 12)
            def rint():
                r = rnd.random()
                if r < 0.4: return rnd.randrange(-1000, 1000)
                if r < 0.8: return rnd.randrange(-2**63, 2**63)
                return rnd.choice([0, -1, 2**63 - 1, -2**63, 2**53 + 1, -(2**53) - 1, 10**18])
            def rval(depth):
                k = rnd.randrange(7 if depth < 6 else 5)
                if k == 0: return None
                if k == 1: return rnd.random() < 0.5
                if k == 2: return rint()
                if k == 3: return rfloat()
                if k == 4: return rstr()
                if k == 5: return [rval(depth + 1) for _ in range(rnd.randrange(0, 6))]
                return {rstr(): rval(depth + 1) for _ in range(rnd.randrange(0, 12))}
            styles = [dict(), dict(separators=(",", ":")), dict(indent=2), dict(indent="\t"), dict(separators=(" , ", " : "))]
            b64 = lambda s: base64.b64encode(s.encode("utf-8")).decode("ascii")
            for _ in range(count):
                v = rval(0)
                text = json.dumps(v, ensure_ascii=rnd.random() < 0.5, **rnd.choice(styles))
                if rnd.random() < 0.3:
                    text = "".join(rnd.choice(" \t\r\n") for _ in range(3)) + text + "".join(rnd.choice(" \t\r\n") for _ in range(3))
                print(b64(text), b64(json.dumps(v, separators=(",", ":"), ensure_ascii=False)))
            """#
        let count = 4_000
        let output = try Self.run(python, script: script, arguments: ["1977", String(count)], input: [])
        let lines = output.split(separator: "\n")
        XCTAssertEqual(lines.count, count)
        var failures: [String] = []
        var bytes = 0
        for line in lines {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let input = Data(base64Encoded: String(parts[0])),
                let expected = Data(base64Encoded: String(parts[1]))
            else {
                failures.append("bad line: \(line)")
                continue
            }
            bytes += input.count
            do {
                let value = try JSONValue.parse(Array(input))
                let ours = value.serializedBytes()
                if ours != Array(expected) {
                    failures.append("ours \(String(decoding: ours, as: UTF8.self)) python \(String(decoding: expected, as: UTF8.self))")
                }
            } catch {
                failures.append("\(error) on \(String(decoding: input, as: UTF8.self))")
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) failures: \(failures.prefix(5).joined(separator: "\n"))")
        print("JSON differential (Python -> ours): \(lines.count) documents, \(bytes) bytes, \(failures.count) mismatches")
    }

    /// A differential fuzz: valid documents with a few bytes replaced, inserted or deleted.
    /// Python and we must agree on which are JSON, and on what the accepted ones mean. Python is
    /// made as strict as we are first: NaN and Infinity, numbers that overflow to infinity and
    /// lone surrogates count as rejections; integers beyond Int64 (which we read as doubles)
    /// are accepted by both but not compared.
    func testMutatedDocumentsAgreeWithPython() throws {
        let python = try Self.python()
        var rng = SplitMix64(seed: 99)
        let interesting: [UInt8] = Array(#""\,:[]{}0-+eE. 9tfnu/"#.utf8) + [0x0A, 0x09, 0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]
        var documents: [[UInt8]] = []
        for _ in 0..<20_000 {
            var bytes = JSONRandom.value(&rng).serializedBytes()
            for _ in 0..<(1 + rng.next() % 3) {
                let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
                let byte = rng.next() % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : interesting[Int(rng.next() % UInt64(interesting.count))]
                switch rng.next() % 4 {
                case 0 where !bytes.isEmpty: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                case 2 where !bytes.isEmpty: bytes.remove(at: at)
                default:
                    let end = min(bytes.count, at + Int(rng.next() % 8))
                    bytes.insert(contentsOf: bytes[at..<end], at: at)
                }
            }
            documents.append(bytes)
        }
        let script = #"""
            import sys, json, base64, math
            def strict_float(text):
                value = float(text)
                if math.isinf(value): raise ValueError("out of range")
                return value
            def no_constants(name): raise ValueError(name)
            def check(value):
                if isinstance(value, str):
                    if any(0xD800 <= ord(c) <= 0xDFFF for c in value): raise ValueError("lone surrogate")
                    return True
                if isinstance(value, bool) or value is None or isinstance(value, float): return True
                if isinstance(value, int): return -2**63 <= value < 2**63
                if isinstance(value, list): return all([check(v) for v in value])
                return all([check(k) and check(v) for k, v in value.items()])
            for line in sys.stdin.read().split():
                raw = base64.b64decode(line[1:])  # after the "d" that keeps an empty document a word
                try:
                    value = json.loads(raw.decode("utf-8"), parse_float=strict_float, parse_constant=no_constants)
                    comparable = check(value)
                except (ValueError, RecursionError):
                    print("R"); continue
                if comparable:
                    print("A", base64.b64encode(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).decode("ascii"))
                else:
                    print("S")
            """#
        let input = documents.map { "d" + Data($0).base64EncodedString() }.joined(separator: "\n")
        let output = try Self.run(python, script: script, input: Array(input.utf8))
        let verdicts = output.split(separator: "\n")
        XCTAssertEqual(verdicts.count, documents.count)
        var disagreements: [String] = []
        var accepted = 0
        for (document, verdict) in zip(documents, verdicts) {
            let ours = Result { () throws(JSONError) in try JSONValue.parse(document) }
            let shown = String(decoding: document, as: UTF8.self).debugDescription
            switch (verdict.first, ours) {
            case ("R", .success(let value)):
                disagreements.append("we accept, Python rejects: \(shown) as \(value)")
            case ("R", .failure), ("S", .success):
                break
            case ("S", .failure(let error)), ("A", .failure(let error)):
                disagreements.append("Python accepts, we reject: \(shown): \(error)")
            case ("A", .success(let value)):
                accepted += 1
                let expected = Data(base64Encoded: String(verdict.dropFirst(2))).map { Array($0) }
                if value.serializedBytes() != expected {
                    disagreements.append("different values: \(shown): ours \(value)")
                }
            default:
                disagreements.append("bad verdict \(verdict)")
            }
        }
        XCTAssertTrue(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(10).joined(separator: "\n"))")
        print("JSON differential fuzz: \(documents.count) mutated documents, \(accepted) accepted by both and equal, \(disagreements.count) disagreements")
    }

    /// The documented disagreements: Python accepts these, we reject them.
    func testWhereWeAreStricterThanPython() throws {
        let python = try Self.python()
        let documents = [#""\ud800""#, #""\udc00x""#, "1e400", "-Infinity", "NaN", "[Infinity]"]
        let script = """
            import sys, json
            for line in sys.stdin.read().splitlines():
                json.loads(line)
            print("ok")
            """
        let output = try Self.run(python, script: script, input: Array(documents.joined(separator: "\n").utf8))
        XCTAssertEqual(output, "ok\n", "Python accepts all of them")
        for document in documents {
            XCTAssertThrowsError(try JSONValue.parse(document), document)
        }
    }

    /// Invalid documents Python rejects too (its errors, like ours, are the oracle for "invalid").
    func testPythonAgreesOnRejections() throws {
        let python = try Self.python()
        let documents = [
            "[1,]", "01", "{\"a\" 1}", "[1 2]", "{\"a\":1,}", "[", "\"abc", "tru", "1.", ".5", "+1", "-",
            "\"\\x\"", "\"\\u12\"", "[1]x", "'a'", "{a:1}", "\u{FEFF}1", "1e", "[01]", "\"a\u{1}\"", "\"\t\"",
        ]
        let script = """
            import sys, json
            for line in sys.stdin.read().split("\\n"):
                try:
                    json.loads(line); print("accepted", repr(line))
                except ValueError:
                    pass
            print("done")
            """
        let output = try Self.run(python, script: script, input: Array(documents.joined(separator: "\n").utf8))
        XCTAssertEqual(output, "done\n")
        for document in documents {
            XCTAssertThrowsError(try JSONValue.parse(document), document.debugDescription)
        }
    }

    // MARK: Running Python

    /// The python3 on PATH, or a skip.
    static func python() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("python3")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("python3 is not on PATH")
    }

    /// Runs `python3 -c script arguments...` with `input` on stdin; returns stdout.
    static func run(_ python: URL, script: String, arguments: [String] = [], input: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONIOENCODING"] = "utf-8"
        environment["PYTHONHASHSEED"] = "0"
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        // If Python stops reading early, the write below must fail, not kill the test process.
        signal(SIGPIPE, SIG_IGN)
        try process.run()
        // Feed stdin from another thread so a large output cannot deadlock against a full pipe.
        let writer = stdin.fileHandleForWriting
        let data = Data(input)
        let feeding = Thread {
            try? writer.write(contentsOf: data)
            try? writer.close()
        }
        feeding.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PythonFailed(status: process.terminationStatus, stderr: String(decoding: err, as: UTF8.self))
        }
        return String(decoding: out, as: UTF8.self)
    }

    struct PythonFailed: Error, CustomStringConvertible {
        let status: Int32
        let stderr: String
        var description: String { "python3 exited with \(status): \(stderr)" }
    }
}

/// Random documents for round trips and the differential tests: nested, with strings full of
/// escapes, control characters, non-ASCII and emoji, integers at the edges of Int64, and
/// doubles of every magnitude (finite only: NaN and infinity serialize as null by design).
enum JSONRandom {
    static func value(_ rng: inout SplitMix64, depth: Int = 0) -> JSONValue {
        switch rng.next() % (depth < 5 ? 7 : 5) {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2: return .int(int(&rng))
        case 3: return .double(double(&rng))
        case 4: return .string(string(&rng))
        case 5: return .array((0..<Int(rng.next() % 6)).map { _ in value(&rng, depth: depth + 1) })
        default:
            var object = JSONObject()
            for _ in 0..<Int(rng.next() % 12) { object[string(&rng)] = value(&rng, depth: depth + 1) }
            return .object(object)
        }
    }

    static func int(_ rng: inout SplitMix64) -> Int64 {
        switch rng.next() % 5 {
        case 0: return Int64(rng.next() % 2001) - 1000
        case 1: return [0, -1, .max, .min, 9_007_199_254_740_993, -9_007_199_254_740_993][Int(rng.next() % 6)]
        case 2: return Int64(bitPattern: rng.next()) >> (rng.next() % 64)
        default: return Int64(bitPattern: rng.next())
        }
    }

    static func double(_ rng: inout SplitMix64) -> Double {
        switch rng.next() % 5 {
        case 0:
            while true {
                let value = Double(bitPattern: rng.next())
                if value.isFinite { return value }
            }
        case 1:
            let nice: [Double] = [0, -0.0, 0.1, 1.5, 5, 1e100, 1e16, 1e15, 1e-5, 1e-7, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1 + 0.2, 1e22, 1e23]
            return nice[Int(rng.next() % UInt64(nice.count))]
        case 2:
            return Double.random(in: -1e6...1e6, using: &rng)
        case 3:
            var power = 1.0
            for _ in 0..<(rng.next() % 12) { power *= 10 }
            return Double(Int64(rng.next() % 2_000_001) - 1_000_000) / power
        default:
            return Double(Int64(bitPattern: rng.next()))
        }
    }

    static func string(_ rng: inout SplitMix64) -> String {
        let specials: [Unicode.Scalar] = ["\"", "\\", "/", "\u{7F}", "\u{0}", "\n", "\r", "\t", "\u{8}", "\u{C}", "\u{1F}", "\u{B}"]
        let wide: [Unicode.Scalar] = ["é", "ß", "中", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFF}", "😀", "\u{10FFFF}", "\u{200D}"]
        var scalars = String.UnicodeScalarView()
        // Mostly short, like keys; now and then long enough for the serializer's measured path.
        let length = rng.next() % 16 == 0 ? Int(rng.next() % 400) : Int(rng.next() % 24)
        for _ in 0..<length {
            switch rng.next() % 20 {
            case 0..<11: scalars.append(Unicode.Scalar(UInt8(0x20 + rng.next() % 0x5F)))
            case 11..<14: scalars.append(specials[Int(rng.next() % UInt64(specials.count))])
            case 14..<17: scalars.append(wide[Int(rng.next() % UInt64(wide.count))])
            case 17: scalars.append(Unicode.Scalar(UInt8(rng.next() % 0x20)))
            default:
                let raw = UInt32(rng.next() % 0x110000)
                scalars.append(Unicode.Scalar(raw) ?? "x")
            }
        }
        return String(scalars)
    }
}
