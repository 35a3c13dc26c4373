import XCTest
@testable import Protocols

final class JSONValueTests: XCTestCase {
    func testLiteralsBuildTheMatchingCases() {
        let null: JSONValue = nil
        let yes: JSONValue = true
        let int: JSONValue = 42
        let double: JSONValue = 1.5
        let string: JSONValue = "hi"
        let array: JSONValue = [1, "two", nil]
        let object: JSONValue = ["b": 1, "a": [true]]
        XCTAssertEqual(null, .null)
        XCTAssertEqual(yes, .bool(true))
        XCTAssertEqual(int, .int(42))
        XCTAssertEqual(double, .double(1.5))
        XCTAssertEqual(string, .string("hi"))
        let name = "Zoë"
        let interpolated: JSONValue = "hi \(name)"
        XCTAssertEqual(interpolated, .string("hi Zoë"))
        XCTAssertEqual(array, .array([.int(1), .string("two"), .null]))
        XCTAssertEqual(object.objectValue?.keys, ["b", "a"], "a dictionary literal keeps its written order")
        XCTAssertEqual(object.serialized(), #"{"b":1,"a":[true]}"#)
    }

    func testAccessors() {
        let value: JSONValue = ["s": "text", "i": 7, "d": 2.5, "whole": 3.0, "b": false, "n": nil, "a": [1, 2], "o": ["k": 1]]
        XCTAssertEqual(value["s"]?.stringValue, "text")
        XCTAssertEqual(value["i"]?.intValue, 7)
        XCTAssertEqual(value["i"]?.int64Value, 7)
        XCTAssertEqual(value["i"]?.doubleValue, 7.0)
        XCTAssertEqual(value["d"]?.doubleValue, 2.5)
        XCTAssertNil(value["d"]?.intValue, "2.5 is not an integer")
        XCTAssertEqual(value["whole"]?.intValue, 3, "a double without a fraction reads as an integer")
        XCTAssertEqual(value["b"]?.boolValue, false)
        XCTAssertEqual(value["n"]?.isNull, true)
        XCTAssertEqual(value["a"]?.arrayValue, [1, 2])
        XCTAssertEqual(value["a"]?[1], 2)
        XCTAssertNil(value["a"]?[2], "out of range is nil, not a trap")
        XCTAssertNil(value["a"]?[-1])
        XCTAssertEqual(value["o"]?["k"], 1)
        XCTAssertEqual(value["o"]?.objectValue?.count, 1)
        XCTAssertNil(value["missing"])
        XCTAssertNil(value[0], "an object has no index subscript")
        XCTAssertNil(JSONValue.string("x")["k"])
        XCTAssertNil(JSONValue.string("x").intValue)
        XCTAssertNil(JSONValue.int(1).stringValue)
        XCTAssertNil(JSONValue.null.boolValue)
        XCTAssertFalse(JSONValue.int(0).isNull)
        XCTAssertNil(JSONValue.double(1e30).int64Value)
        XCTAssertEqual(JSONValue(5), .int(5))
        XCTAssertEqual(JSONValue(0.5), .double(0.5))
        XCTAssertEqual(JSONValue("s"), .string("s"))
        XCTAssertEqual(JSONValue(true), .bool(true))
    }

    func testSettingMembersOfAnObjectValue() {
        var value: JSONValue = ["a": 1]
        value["b"] = [true]
        value["a"] = "one"
        XCTAssertEqual(value.serialized(), #"{"a":"one","b":[true]}"#)
        value["a"] = nil
        XCTAssertEqual(value.serialized(), #"{"b":[true]}"#)
        let copy = value
        value["c"] = nil
        value["d"] = 4
        XCTAssertEqual(copy.serialized(), #"{"b":[true]}"#, "a copy is not affected")
        XCTAssertEqual(value.serialized(), #"{"b":[true],"d":4}"#)
    }

    func testIntAndDoubleAreDistinctValues() {
        XCTAssertNotEqual(JSONValue.int(1), JSONValue.double(1))
        XCTAssertEqual(JSONValue.int(1).serialized(), "1")
        XCTAssertEqual(JSONValue.double(1).serialized(), "1.0")
    }

    func testDescriptionIsCompactJSON() {
        let value: JSONValue = ["a": [1, 2.5, "x\n"], "b": nil]
        XCTAssertEqual(value.description, #"{"a":[1,2.5,"x\n"],"b":null}"#)
        XCTAssertEqual("\(JSONValue.string("q\""))", #""q\"""#)
    }

    // MARK: JSONObject

    func testObjectKeepsInsertionOrderAcrossTheIndexThreshold() {
        var object = JSONObject()
        let keys = (0..<40).map { "k\(39 - $0)" }
        for (n, key) in keys.enumerated() { object[key] = .int(Int64(n)) }
        XCTAssertEqual(object.keys, keys)
        for (n, key) in keys.enumerated() {
            XCTAssertEqual(object[key], .int(Int64(n)))
            XCTAssertEqual(object.index(forKey: key), n)
        }
        XCTAssertNil(object["nope"])
    }

    func testReplacingAKeyKeepsItsPosition() {
        for size in [3, 8, 9, 20] {
            var object = JSONObject()
            for n in 0..<size { object["k\(n)"] = .int(Int64(n)) }
            let old = object.updateValue("new", forKey: "k1")
            XCTAssertEqual(old, 1)
            XCTAssertEqual(object.count, size)
            XCTAssertEqual(object.keys[1], "k1")
            XCTAssertEqual(object["k1"], "new")
            XCTAssertNil(object.updateValue(true, forKey: "added"))
            XCTAssertEqual(object.keys.last, "added")
        }
    }

    func testRemovingKeysAroundTheThreshold() {
        for size in [2, 8, 9, 10, 30] {
            var object = JSONObject()
            for n in 0..<size { object["k\(n)"] = .int(Int64(n)) }
            XCTAssertEqual(object.removeValue(forKey: "k0"), 0)
            XCTAssertNil(object.removeValue(forKey: "k0"))
            object["k1"] = nil
            XCTAssertEqual(object.count, size - 2)
            XCTAssertEqual(object.keys, (2..<size).map { "k\($0)" })
            for n in 2..<size { XCTAssertEqual(object["k\(n)"], .int(Int64(n)), "size \(size)") }
            object["again"] = 1
            XCTAssertEqual(object.index(forKey: "again"), size - 2)
        }
        var object: JSONObject = ["a": 1]
        object.removeAll()
        XCTAssertTrue(object.isEmpty)
        XCTAssertNil(object["a"])
    }

    func testDuplicateKeysInLiteralsAndInitKeepFirstPositionLastValue() {
        let object = JSONObject([("a", 1), ("b", 2), ("a", 3)])
        XCTAssertEqual(object.keys, ["a", "b"])
        XCTAssertEqual(object["a"], 3)
    }

    func testObjectEqualityAndHashIgnoreOrder() {
        let ab: JSONValue = ["a": 1, "b": [2]]
        let ba: JSONValue = ["b": [2], "a": 1]
        XCTAssertEqual(ab, ba)
        XCTAssertEqual(ab.hashValue, ba.hashValue)
        XCTAssertNotEqual(ab, ["a": 1, "b": [3]])
        XCTAssertNotEqual(ab, ["a": 1])
        XCTAssertNotEqual(ab, ["a": 1, "c": [2]])
        XCTAssertEqual(Set<JSONValue>([ab, ba, ["a": 1]]).count, 2)
        // Large objects (indexed) too.
        let many = (0..<20).map { ("k\($0)", JSONValue.int(Int64($0))) }
        XCTAssertEqual(JSONObject(many), JSONObject(many.reversed()))
        XCTAssertEqual(JSONObject(many).hashValue, JSONObject(many.reversed()).hashValue)
        // But serialization keeps each one's own order.
        XCTAssertEqual(ab.serialized(), #"{"a":1,"b":[2]}"#)
        XCTAssertEqual(ba.serialized(), #"{"b":[2],"a":1}"#)
    }

    func testObjectIsARandomAccessCollectionInOrder() {
        let object: JSONObject = ["x": 1, "y": 2, "z": 3]
        XCTAssertEqual(object.map(\.key), ["x", "y", "z"])
        XCTAssertEqual(object[1].key, "y")
        XCTAssertEqual(object[1].value, 2)
        XCTAssertEqual(object.values, [1, 2, 3])
    }

    /// JSON compares strings by their bytes, as the peer does; Swift's String == would merge
    /// canonically equivalent spellings ("é" precomposed and decomposed).
    func testStringsAndKeysCompareByBytesNotCanonicalEquivalence() throws {
        let precomposed = "\u{E9}"
        let decomposed = "e\u{301}"
        XCTAssertEqual(precomposed, decomposed, "Swift says these are equal")
        XCTAssertNotEqual(JSONValue.string(precomposed), JSONValue.string(decomposed))
        XCTAssertEqual(Set<JSONValue>([.string(precomposed), .string(decomposed)]).count, 2)
        for size in [2, 20] {  // linear lookup and indexed
            var object = JSONObject()
            for n in 0..<(size - 2) { object["k\(n)"] = .int(Int64(n)) }
            object[precomposed] = 1
            object[decomposed] = 2
            XCTAssertEqual(object.count, size)
            XCTAssertEqual(object[precomposed], 1)
            XCTAssertEqual(object[decomposed], 2)
        }
        let parsed = try JSONValue.parse("{\"\(precomposed)\":1,\"\(decomposed)\":2}")
        XCTAssertEqual(parsed.objectValue?.count, 2)
        XCTAssertEqual(parsed.serialized(), "{\"\(precomposed)\":1,\"\(decomposed)\":2}")
        XCTAssertNotEqual(JSONValue.object([precomposed: 1]), JSONValue.object([decomposed: 1]))
    }
}
