import XCTest
@testable import Protocols

/// Route patterns alone: parsing, what they refuse, and matching on raw (undecoded) paths.
final class HTTPRoutePatternTests: XCTestCase {
    /// The captured values of `pattern` on `path`, as strings, or nil when it does not match.
    private func match(_ pattern: String, _ path: String) -> [String]? {
        let p = try! HTTPRoutePattern(pattern)
        let bytes = Array(path.utf8)
        return bytes.withUnsafeBytes { raw -> [String]? in
            var captures = HTTPRouteCaptures()
            guard p.match(raw, captures: &captures) else { return nil }
            XCTAssertEqual(captures.count, p.parameterNames.count)
            return (0..<captures.count).map { String(decoding: raw[captures[$0]], as: UTF8.self) }
        }
    }

    private func refuses(_ pattern: String) -> HTTPRoutePatternError? {
        do throws(HTTPRoutePatternError) {
            _ = try HTTPRoutePattern(pattern)
            return nil
        } catch {
            return error
        }
    }

    func testParsesSegments() throws {
        let p = try HTTPRoutePattern("/users/:id/posts/:post")
        XCTAssertEqual(p.segments, [.literal(Array("users".utf8)), .parameter, .literal(Array("posts".utf8)), .parameter])
        XCTAssertEqual(p.parameterNames, ["id", "post"])
        XCTAssertFalse(p.isStatic)
        XCTAssertTrue(try HTTPRoutePattern("/plaintext").isStatic)
        XCTAssertTrue(try HTTPRoutePattern("/").isStatic)
        XCTAssertEqual(try HTTPRoutePattern("/files/*").parameterNames, ["*"])
        XCTAssertTrue(try HTTPRoutePattern("/user-:id").isStatic, "a parameter is a whole segment")
    }

    func testRefusesWhatItCannotRoute() {
        XCTAssertEqual(refuses("users/:id"), .notAbsolute(pattern: "users/:id"))
        XCTAssertEqual(refuses(""), .notAbsolute(pattern: ""))
        XCTAssertEqual(refuses("/users/:"), .emptyParameterName(pattern: "/users/:"))
        XCTAssertEqual(refuses("/:/x"), .emptyParameterName(pattern: "/:/x"))
        XCTAssertEqual(refuses("/files/*/x"), .wildcardNotLast(pattern: "/files/*/x"))
        XCTAssertEqual(refuses("/*/"), .wildcardNotLast(pattern: "/*/"))
        XCTAssertEqual(refuses("/a/:id/b/:id"), .duplicateParameter(name: "id", pattern: "/a/:id/b/:id"))
        XCTAssertEqual(refuses("/a/:*/*"), .duplicateParameter(name: "*", pattern: "/a/:*/*"), "found by the fuzzer")
        XCTAssertEqual(refuses("/a?b=1"), .invalidCharacter(pattern: "/a?b=1"))
        XCTAssertEqual(refuses("/a#x"), .invalidCharacter(pattern: "/a#x"))
        XCTAssertEqual(refuses("/a b"), .invalidCharacter(pattern: "/a b"))
        let nine = "/" + (1...9).map { ":p\($0)" }.joined(separator: "/")
        XCTAssertEqual(refuses(nine), .tooManyParameters(pattern: nine, limit: 8))
        XCTAssertNil(refuses("/" + (1...8).map { ":p\($0)" }.joined(separator: "/")))
        // The messages name the pattern and the fault.
        XCTAssertEqual(refuses("/files/*/x")?.description, "route pattern \"/files/*/x\" has * before its last segment")
    }

    func testParameterMatchesOneNonEmptySegment() {
        XCTAssertEqual(match("/users/:id", "/users/42"), ["42"])
        XCTAssertEqual(match("/users/:id/posts/:post", "/users/7/posts/hello"), ["7", "hello"])
        XCTAssertNil(match("/users/:id", "/users"))
        XCTAssertNil(match("/users/:id", "/users/"))
        XCTAssertNil(match("/users/:id", "/users/42/"))
        XCTAssertNil(match("/users/:id", "/users/42/x"))
        XCTAssertNil(match("/users/:id", "/people/42"))
        XCTAssertNil(match("/users/:id", "users/42"))
        XCTAssertNil(match("/users/:id", ""))
        XCTAssertNil(match("/users/:id/posts", "/users//posts"))
    }

    func testSegmentsAreMatchedBeforePercentDecoding() {
        XCTAssertEqual(match("/files/:name", "/files/a%2Fb"), ["a%2Fb"], "%2F stays inside its segment")
        XCTAssertNil(match("/files/:name", "/files/a/b"))
        XCTAssertNotNil(match("/a%20b/:x", "/a%20b/1"))
        XCTAssertNil(match("/a%20b/:x", "/a b/1"))
        XCTAssertNil(match("/caf%C3%A9/:x", "/café/1"))
    }

    func testWildcardTakesTheRest() {
        XCTAssertEqual(match("/files/*", "/files/a/b%2Fc/d"), ["a/b%2Fc/d"])
        XCTAssertEqual(match("/files/*", "/files/"), [""])
        XCTAssertNil(match("/files/*", "/files"))
        XCTAssertNil(match("/files/*", "/filesx/a"))
        XCTAssertEqual(match("/u/:id/*", "/u/9/x/y"), ["9", "x/y"])
        XCTAssertEqual(match("/*", "/anything/at/all"), ["anything/at/all"])
    }

    func testSpecificityOrdersLiteralsBeforeParametersBeforeWildcards() throws {
        let literal = try HTTPRoutePattern("/users/me/:tab")
        let parameter = try HTTPRoutePattern("/users/:id/:tab")
        let wildcard = try HTTPRoutePattern("/users/*")
        XCTAssertTrue(literal.isMoreSpecific(than: parameter))
        XCTAssertFalse(parameter.isMoreSpecific(than: literal))
        XCTAssertTrue(parameter.isMoreSpecific(than: wildcard))
        XCTAssertTrue(try HTTPRoutePattern("/a/:x/c").isMoreSpecific(than: HTTPRoutePattern("/a/:x")))
        XCTAssertTrue(try HTTPRoutePattern("/a/:x").hasSameShape(as: HTTPRoutePattern("/a/:y")))
        XCTAssertFalse(try HTTPRoutePattern("/a/:x").hasSameShape(as: HTTPRoutePattern("/b/:x")))
    }

    func testParametersByNameAsViewsAndDecoded() throws {
        let p = try HTTPRoutePattern("/files/:dir/*")
        let path = Array("/files/a%2Fb/c%20d/e".utf8)
        try path.withUnsafeBytes { raw in
            var captures = HTTPRouteCaptures()
            XCTAssertTrue(p.match(raw, captures: &captures))
            let params = HTTPRouteParameters(pattern: p, captures: captures, path: HTTPByteView(start: raw.baseAddress!, count: raw.count))
            XCTAssertEqual(params["dir"]?.string, "a%2Fb")
            XCTAssertEqual(params.decoded("dir"), "a/b")
            XCTAssertEqual(params.rest?.string, "c%20d/e")
            XCTAssertEqual(params.decoded("*"), "c d/e")
            XCTAssertNil(params["nope"])
            XCTAssertEqual(params.names, ["dir", "*"])
            XCTAssertFalse(params.isEmpty)
            _ = try XCTUnwrap(params["dir"])
        }
        let none = HTTPRouteParameters()
        XCTAssertTrue(none.isEmpty)
        XCTAssertNil(none["id"])
        XCTAssertNil(none.rest)
    }

    /// Every prefix of a few paths against a few patterns: a match never reads past the path
    /// (the address sanitizer and the fuzzer check the same on random input).
    func testEveryPrefixOfAPathIsDecidedWithoutTrapping() throws {
        let patterns = try ["/users/:id", "/files/*", "/a/:b/c/:d", "/"].map(HTTPRoutePattern.init)
        for path in ["/users/42/", "/files/x/y", "/a/1/c/2", "//", "/a/%2F/c/%"] {
            let bytes = Array(path.utf8)
            for n in 0...bytes.count {
                bytes.withUnsafeBytes { raw in
                    let slice = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    for p in patterns {
                        var captures = HTTPRouteCaptures()
                        if p.match(slice, captures: &captures) {
                            for i in 0..<captures.count { XCTAssertLessThanOrEqual(captures[i].upperBound, n) }
                        }
                    }
                }
            }
        }
    }
}
