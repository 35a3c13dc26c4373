import Protocols
import XCTest

/// The origin rule on parsed request heads: no Origin, the server's own, an allowed list, `*`.
final class OriginPolicyTests: XCTestCase {
    private func verdict(_ policy: OriginPolicy, origin: String?, host: String? = "chat.example:8000") -> OriginPolicy.Verdict {
        var text = "GET /chat HTTP/1.1\r\n"
        if let host { text += "Host: \(host)\r\n" }
        if let origin { text += "Origin: \(origin)\r\n" }
        text += "\r\n"
        var parser = HTTPRequestParser()
        var result: OriginPolicy.Verdict?
        Array((host == nil ? text.replacingHTTP11() : text).utf8).withUnsafeBytes { input in
            guard case .head(let head) = parser.next(input).event else { return XCTFail("no head for \(text)") }
            result = policy.verdict(head)
        }
        return result ?? .refused
    }

    func testRequestsWithoutOriginAreAllowed() {
        XCTAssertEqual(verdict(.sameOrigin, origin: nil), .noOrigin)
    }

    func testTheServersOwnOriginIsAllowedWhateverTheSchemeAndCase() {
        XCTAssertEqual(verdict(.sameOrigin, origin: "http://chat.example:8000"), .sameOrigin)
        XCTAssertEqual(verdict(.sameOrigin, origin: "https://CHAT.example:8000"), .sameOrigin)
        XCTAssertEqual(verdict(.sameOrigin, origin: "http://chat.example:8000", host: "Chat.Example:8000"), .sameOrigin)
    }

    func testLoopbackNamesOfOnePortAreOneServer() {
        for origin in ["http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000", "http://127.1.2.3:8000"] {
            for host in ["localhost:8000", "127.0.0.1:8000", "[::1]:8000"] {
                XCTAssertEqual(verdict(.sameOrigin, origin: origin, host: host), .sameOrigin, "\(origin) on \(host)")
            }
        }
        XCTAssertEqual(verdict(.sameOrigin, origin: "http://localhost:3000", host: "127.0.0.1:8000"), .refused)
        XCTAssertEqual(verdict(.sameOrigin, origin: "http://localhost", host: "127.0.0.1:8000"), .refused)
        XCTAssertEqual(verdict(.sameOrigin, origin: "http://localhost.evil:8000", host: "127.0.0.1:8000"), .refused)
        XCTAssertEqual(verdict(.sameOrigin, origin: "http://127.0.0.1.evil:8000", host: "localhost:8000"), .refused)
        XCTAssertEqual(verdict(.sameOrigin, origin: "http://localhost:8000", host: "chat.example:8000"), .refused)
    }

    func testOtherOriginsAreRefused() {
        for origin in ["http://evil.example", "http://chat.example:8001", "http://chat.example", "null", "",
                       "chat.example:8000", "http://chat.example:8000/", "http://user@chat.example:8000",
                       "http://chat.example:8000.evil.example", "://chat.example:8000", "http://"] {
            XCTAssertEqual(verdict(.sameOrigin, origin: origin), .refused, origin)
        }
    }

    func testWithoutHostNoOriginIsTheServersOwn() {
        XCTAssertEqual(verdict(.sameOrigin, origin: "http://chat.example:8000", host: nil), .refused)
    }

    func testAnAllowedListAndTheWildcard() {
        var policy = OriginPolicy(allowing: ["https://App.Example"])
        XCTAssertEqual(verdict(policy, origin: "https://app.example"), .allowedCrossOrigin)
        XCTAssertEqual(verdict(policy, origin: "http://app.example"), .refused)
        XCTAssertEqual(verdict(policy, origin: "https://app.example.evil"), .refused)
        XCTAssertEqual(verdict(policy, origin: "http://chat.example:8000"), .sameOrigin)
        policy.allow("*")
        XCTAssertTrue(policy.allowsAnyOrigin)
        XCTAssertEqual(verdict(policy, origin: "null"), .allowedCrossOrigin)
        XCTAssertEqual(verdict(.any, origin: "http://evil.example"), .allowedCrossOrigin)
    }
}

private extension String {
    /// The same request as HTTP/1.0, which may omit Host.
    func replacingHTTP11() -> String {
        var lines = split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        lines[0] = String(lines[0].dropLast(3)) + "1.0"  // "HTTP/1.1" -> "HTTP/1.0"
        return lines.joined(separator: "\r\n")
    }
}
