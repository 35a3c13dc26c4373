import Foundation
import XCTest
@testable import Protocols

/// JSONValueEncoder and JSONValueDecoder (Sources/Protocols/JSON): Codable values to and from
/// JSONValue, the exact values they become, the numbers that do not fit, and errors that carry
/// the coding path of the value that failed.
final class JSONValueCodableTests: XCTestCase {
    // MARK: Types under test

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case polygon([Point])
        case empty
    }

    struct Point: Codable, Equatable {
        var x: Int
        var y: Int
    }

    enum Role: String, Codable {
        case admin, guest
    }

    struct Profile: Codable, Equatable {
        var name: String
        var age: UInt8
        var nickname: String?
        var role: Role
        var shapes: [Shape]
        var scores: [String: Double]
        var byRank: [Int: String]
        var matrix: [[Int16]]
        var flags: Set<String>
        var ratio: Float
    }

    /// Encodes as a bare string, at any level.
    struct UserID: Codable, Equatable {
        var raw: String
        init(_ raw: String) { self.raw = raw }
        init(from decoder: any Decoder) throws { raw = try decoder.singleValueContainer().decode(String.self) }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(raw)
        }
    }

    private let encoder = JSONValueEncoder()
    private let decoder = JSONValueDecoder()

    private func roundTrip<T: Codable & Equatable>(_ value: T, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        let encoded = try encoder.encode(value)
        XCTAssertEqual(try decoder.decode(T.self, from: encoded), value, file: file, line: line)
        // And through the text the network carries: what the parser reads back decodes the same.
        let reparsed = try JSONValue.parse(encoded.serialized())
        XCTAssertEqual(try decoder.decode(T.self, from: reparsed), value, file: file, line: line)
        return encoded
    }

    // MARK: Round trips

    func testNestedStructWithEnumsOptionalsArraysAndDictionariesRoundTrips() throws {
        let profile = Profile(
            name: "Ada", age: 36, nickname: nil, role: .admin,
            shapes: [.circle(radius: 1.5), .polygon([Point(x: 0, y: 0), Point(x: 3, y: -4)]), .empty],
            scores: ["math": 9.5, "art": 7], byRank: [1: "gold", 2: "silver"], matrix: [[1, 2], [], [-32768]],
            flags: ["a", "b"], ratio: 0.1)
        let encoded = try roundTrip(profile)
        // The members in declaration order; nil left out (synthesized Codable uses encodeIfPresent).
        XCTAssertEqual(encoded.objectValue?.keys, ["name", "age", "role", "shapes", "scores", "byRank", "matrix", "flags", "ratio"])
        XCTAssertEqual(encoded["age"], .int(36))
        XCTAssertEqual(encoded["role"], "admin")
        XCTAssertEqual(encoded["shapes"], [
            ["circle": ["radius": 1.5]],
            ["polygon": ["_0": [["x": 0, "y": 0], ["x": 3, "y": -4]]]],
            ["empty": [:]],
        ])
        XCTAssertEqual(encoded["byRank"], ["1": "gold", "2": "silver"], "Int keys become their decimal text")
        XCTAssertEqual(encoded["ratio"], .double(0.1), "a Float is its shortest decimal, not 0.10000000149011612")
        XCTAssertEqual(encoded["matrix"], [[1, 2], [], [-32768]])

        var named = profile
        named.nickname = "countess"
        XCTAssertEqual(try roundTrip(named)["nickname"], "countess")
    }

    func testOptionalsEncodeNullAndDecodeFromNullOrAbsence() throws {
        let values: [Int?] = [1, nil, 3]
        XCTAssertEqual(try roundTrip(values), [1, nil, 3])
        XCTAssertEqual(try encoder.encode(Int?.none), .null)
        XCTAssertEqual(try decoder.decode(Int?.self, from: .null), nil)

        struct Maybe: Codable, Equatable { var a: Int?; var b: String? }
        XCTAssertEqual(try decoder.decode(Maybe.self, from: ["a": nil]), Maybe(a: nil, b: nil), "null and absent both read as nil")
        XCTAssertEqual(try decoder.decode(Maybe.self, from: ["a": 4, "extra": [1, 2]]), Maybe(a: 4, b: nil), "unknown members ignored")
    }

    func testBareScalarsAtTopLevel() throws {
        XCTAssertEqual(try roundTrip(UserID("u-42")), "u-42")
        XCTAssertEqual(try roundTrip(Role.guest), "guest")
        XCTAssertEqual(try roundTrip(7), .int(7))
        XCTAssertEqual(try roundTrip(true), true)
        XCTAssertEqual(try roundTrip(2.5), .double(2.5))
        XCTAssertEqual(try roundTrip([UserID("a"), UserID("b")]), ["a", "b"])
        XCTAssertEqual(try roundTrip(["k": UserID("v")]), ["k": "v"])
    }

    // MARK: Integers and floating point

    func testIntegerEdgesFitOrFailWithoutTrapping() throws {
        XCTAssertEqual(try roundTrip(Int64.min), .int(.min))
        XCTAssertEqual(try roundTrip(Int64.max), .int(.max))
        XCTAssertEqual(try roundTrip(UInt64(Int64.max)), .int(.max))
        XCTAssertEqual(try roundTrip(Int8.min), .int(-128))
        XCTAssertEqual(try roundTrip(UInt32.max), .int(4_294_967_295))

        struct Big: Encodable { var id: UInt64 }
        XCTAssertThrowsError(try encoder.encode(Big(id: .max))) { error in
            guard case EncodingError.invalidValue(let value, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(value as? UInt64, .max)
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["id"])
        }
        XCTAssertThrowsError(try encoder.encode([UInt64(1), UInt64(Int64.max) + 1])) { error in
            guard case EncodingError.invalidValue(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["Index 1"])
            XCTAssertEqual(context.codingPath.last?.intValue, 1)
        }

        // Out of the target's range, or with a fraction: dataCorrupted.
        assertDecodingError(Int8.self, from: 128, .dataCorrupted, path: [])
        assertDecodingError(UInt.self, from: -1, .dataCorrupted, path: [])
        assertDecodingError(Int.self, from: 2.5, .dataCorrupted, path: [])
        assertDecodingError(Int64.self, from: 1e19, .dataCorrupted, path: [])
        // An integral double reads as an integer; an int reads as a floating-point number.
        XCTAssertEqual(try decoder.decode(Int.self, from: 2.0), 2)
        XCTAssertEqual(try decoder.decode(UInt64.self, from: 1e19), 10_000_000_000_000_000_000)
        XCTAssertEqual(try decoder.decode(Double.self, from: 3), 3.0)
        XCTAssertEqual(try decoder.decode(Float.self, from: -7), -7)
        XCTAssertEqual(try decoder.decode(Float.self, from: 0.1), 0.1 as Float)
        assertDecodingError(Float.self, from: 1e300, .dataCorrupted, path: [])
    }

    func testNaNAndInfinitiesAreRefused() {
        struct Reading: Encodable { var values: [Double]; var gain: Float }
        XCTAssertThrowsError(try encoder.encode(Reading(values: [1, .nan], gain: 1))) { error in
            guard case EncodingError.invalidValue(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["values", "Index 1"])
        }
        XCTAssertThrowsError(try encoder.encode(Reading(values: [], gain: -.infinity))) { error in
            guard case EncodingError.invalidValue(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["gain"])
        }
        XCTAssertThrowsError(try encoder.encode(Double.infinity))
    }

    // MARK: Errors and their coding paths

    enum Kind { case typeMismatch, valueNotFound, keyNotFound, dataCorrupted }

    private func assertDecodingError<T: Decodable>(_ type: T.Type, from value: JSONValue, _ kind: Kind, path: [String],
                                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decoder.decode(T.self, from: value), file: file, line: line) { error in
            let context: DecodingError.Context
            switch (error as? DecodingError, kind) {
            case (.typeMismatch(_, let c)?, .typeMismatch), (.valueNotFound(_, let c)?, .valueNotFound),
                 (.dataCorrupted(let c)?, .dataCorrupted):
                context = c
            case (.keyNotFound(let key, let c)?, .keyNotFound):
                context = DecodingError.Context(codingPath: c.codingPath + [key], debugDescription: c.debugDescription)
            default:
                return XCTFail("expected \(kind), got \(error)", file: file, line: line)
            }
            XCTAssertEqual(context.codingPath.map(\.stringValue), path, file: file, line: line)
        }
    }

    struct Team: Decodable { var name: String; var members: [Member] }
    struct Member: Decodable { var name: String; var age: Int; var tags: [String] }

    func testDecodingErrorsCarryTheirCodingPath() {
        let team: JSONValue = ["name": "t", "members": [
            ["name": "a", "age": 1, "tags": []],
            ["name": "b", "age": "old", "tags": []],
        ]]
        assertDecodingError(Team.self, from: team, .typeMismatch, path: ["members", "Index 1", "age"])

        let missing: JSONValue = ["name": "t", "members": [["name": "a", "tags": ["x"]]]]
        // keyNotFound: the container's path, then the key that was missing.
        assertDecodingError(Team.self, from: missing, .keyNotFound, path: ["members", "Index 0", "age"])

        let null: JSONValue = ["name": "t", "members": [["name": "a", "age": 1, "tags": ["x", nil]]]]
        assertDecodingError(Team.self, from: null, .valueNotFound, path: ["members", "Index 0", "tags", "Index 1"])

        assertDecodingError(Team.self, from: ["name": "t", "members": ["not an object"]], .typeMismatch, path: ["members", "Index 0"])
        assertDecodingError(Team.self, from: ["name": "t", "members": nil], .valueNotFound, path: ["members"])
        assertDecodingError(Team.self, from: [1, 2], .typeMismatch, path: [])
        assertDecodingError(Point.self, from: nil, .valueNotFound, path: [])
        assertDecodingError([Int].self, from: ["x": 1], .typeMismatch, path: [])
        assertDecodingError(Shape.self, from: ["circle": ["radius": "wide"]], .typeMismatch, path: ["circle", "radius"])
        assertDecodingError(Role.self, from: "owner", .dataCorrupted, path: [])
    }

    /// An unkeyed read that fails leaves the position where it was; one past the end is
    /// valueNotFound at the index it wanted.
    func testUnkeyedContainerPositionAndEnd() throws {
        struct Loose: Decodable, Equatable {
            var items: [String] = []
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                while !container.isAtEnd {
                    if try container.decodeNil() { items.append("nil"); continue }
                    if let n = try? container.decode(Int.self) { items.append("int \(n)"); continue }
                    items.append(try container.decode(String.self))
                }
                XCTAssertEqual(container.currentIndex, container.count)
                XCTAssertThrowsError(try container.decode(Int.self)) { error in
                    guard case DecodingError.valueNotFound(_, let context) = error else { return XCTFail("\(error)") }
                    XCTAssertEqual(context.codingPath.map(\.stringValue), ["Index 4"])
                }
            }
        }
        XCTAssertEqual(try decoder.decode(Loose.self, from: [1, "two", nil, 4.0]).items, ["int 1", "two", "nil", "int 4"])
    }

    // MARK: Containers by hand

    /// Nested keyed and unkeyed containers, written and read by hand; a key written twice keeps
    /// its first place.
    struct Envelope: Codable, Equatable {
        var kind: String
        var lat: Double
        var lon: Double
        var tags: [String]

        enum Keys: String, CodingKey { case kind, position, tags, lat, lon }

        init(kind: String, lat: Double, lon: Double, tags: [String]) {
            (self.kind, self.lat, self.lon, self.tags) = (kind, lat, lon, tags)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("draft", forKey: .kind)
            var position = container.nestedContainer(keyedBy: Keys.self, forKey: .position)
            try position.encode(lat, forKey: .lat)
            var tagList = container.nestedUnkeyedContainer(forKey: .tags)
            for tag in tags {
                var wrapper = tagList.nestedContainer(keyedBy: Keys.self)
                try wrapper.encode(tag, forKey: .kind)
            }
            try position.encode(lon, forKey: .lon)  // after the next sibling was opened
            try container.encode(kind, forKey: .kind)  // again: replaces "draft" in its place
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            kind = try container.decode(String.self, forKey: .kind)
            let position = try container.nestedContainer(keyedBy: Keys.self, forKey: .position)
            lat = try position.decode(Double.self, forKey: .lat)
            lon = try position.decode(Double.self, forKey: .lon)
            var tagList = try container.nestedUnkeyedContainer(forKey: .tags)
            tags = []
            while !tagList.isAtEnd {
                tags.append(try tagList.nestedContainer(keyedBy: Keys.self).decode(String.self, forKey: .kind))
            }
        }
    }

    func testNestedContainersAndKeyOrder() throws {
        let envelope = Envelope(kind: "pin", lat: 48.85, lon: 2.35, tags: ["x", "y"])
        let encoded = try roundTrip(envelope)
        XCTAssertEqual(encoded.serialized(), #"{"kind":"pin","position":{"lat":48.85,"lon":2.35},"tags":[{"kind":"x"},{"kind":"y"}]}"#)
    }

    /// A subclass encodes its superclass through superEncoder(), under "super".
    class Animal: Codable {
        var legs: Int
        init(legs: Int) { self.legs = legs }
    }

    final class Dog: Animal {
        var name: String
        enum Keys: String, CodingKey { case name }
        init(name: String) {
            self.name = name
            super.init(legs: 4)
        }
        required init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            name = try container.decode(String.self, forKey: .name)
            try super.init(from: container.superDecoder())
        }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try super.encode(to: container.superEncoder())
            try container.encode(name, forKey: .name)
        }
    }

    func testSuperEncoderAndSuperDecoder() throws {
        let encoded = try encoder.encode(Dog(name: "Rex"))
        XCTAssertEqual(encoded.serialized(), #"{"super":{"legs":4},"name":"Rex"}"#)
        let dog = try decoder.decode(Dog.self, from: encoded)
        XCTAssertEqual(dog.name, "Rex")
        XCTAssertEqual(dog.legs, 4)
        // Without "super", the superclass reads null: valueNotFound at "super".
        assertDecodingError(Dog.self, from: ["name": "Rex"], .valueNotFound, path: ["super"])
    }

    func testAValueThatEncodesNothingIsAnErrorAtTheTopAndAnEmptyObjectInside() throws {
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
        XCTAssertThrowsError(try encoder.encode(Nothing())) { error in
            guard case EncodingError.invalidValue = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try encoder.encode([Nothing()]), [[:]])
    }

    func testUserInfoReachesTheCodableTypes() throws {
        let key = try XCTUnwrap(CodingUserInfoKey(rawValue: "unit"))
        struct Length: Codable, Equatable {
            static let key = CodingUserInfoKey(rawValue: "unit")!
            var metres: Double
            init(metres: Double) { self.metres = metres }
            init(from decoder: any Decoder) throws {
                let scale = decoder.userInfo[Self.key] as? Double ?? 1
                metres = try decoder.singleValueContainer().decode(Double.self) / scale
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(metres * (encoder.userInfo[Self.key] as? Double ?? 1))
            }
        }
        var encoder = JSONValueEncoder()
        encoder.userInfo[key] = 100.0
        var decoder = JSONValueDecoder()
        decoder.userInfo[key] = 100.0
        let encoded = try encoder.encode(["a": Length(metres: 2)])
        XCTAssertEqual(encoded, ["a": 200.0])
        XCTAssertEqual(try decoder.decode([String: Length].self, from: encoded), ["a": Length(metres: 2)])
    }

    // MARK: JSONValue inside a Codable value

    struct Session: Codable, Equatable {
        var user: String
        var extra: JSONValue
        var note: JSONValue?
    }

    /// Through our coders a JSONValue passes unchanged: int and double stay apart, order stays.
    func testAJSONValueMemberPassesUnchanged() throws {
        let extra: JSONValue = ["b": 1, "a": 1.0, "n": nil, "list": [true, "s", ["deep": [-0.5]]], "big": .int(.max)]
        let encoded = try roundTrip(Session(user: "u", extra: extra, note: nil))
        XCTAssertEqual(encoded.serialized(), #"{"user":"u","extra":{"b":1,"a":1.0,"n":null,"list":[true,"s",{"deep":[-0.5]}],"big":9223372036854775807}}"#)
        XCTAssertEqual(try encoder.encode(extra), extra)
        XCTAssertEqual(try decoder.decode(JSONValue.self, from: extra), extra)
        XCTAssertEqual(try decoder.decode(Session.self, from: ["user": "u", "extra": nil, "note": [1]]), Session(user: "u", extra: nil, note: [1]))
        assertDecodingError(Session.self, from: ["user": "u"], .keyNotFound, path: ["extra"])
    }

    /// Through Foundation's coders, a JSONValue is written as the JSON it is and read back kind by
    /// kind (an integral number written with a fraction comes back as an int there: documented).
    func testAJSONValueThroughFoundationsCoders() throws {
        let text = #"{"s":"x\u00e9","i":-42,"d":2.5,"t":true,"f":false,"n":null,"a":[1,[2,{"k":[]}]],"o":{},"big":9223372036854775807}"#
        let value = try JSONValue.parse(text)
        let written = try JSONEncoder().encode(value)
        XCTAssertEqual(try JSONValue.parse(Array(written)), value)
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), value)
    }
}
