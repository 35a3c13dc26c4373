/// `JSONValue` is itself `Codable`, so a typed value can carry a free-form part
/// (`struct Session: Codable { var user: User; var extra: JSONValue }`).
///
/// Through `JSONValueEncoder` and `JSONValueDecoder` it passes unchanged: `1` stays `.int(1)`,
/// `1.0` stays `.double(1.0)`, an object keeps its member order. Through any other coder (such as
/// Foundation's `JSONEncoder`) it is written as the JSON it is, and read back by asking the
/// decoder for each kind in turn: an object, an array, `null`, a Boolean, an integer that fits
/// Int64, a floating-point number, a string. What such a coder can tell apart decides the
/// result; the member order is the order its keyed container lists them in.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if let ours = decoder as? JSONValueDecoding {
            self = ours.value
            return
        }
        if let keyed = try? decoder.container(keyedBy: JSONCodingKey.self) {
            var object = JSONObject()
            for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(object)
        } else if var unkeyed = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !unkeyed.isAtEnd { elements.append(try unkeyed.decode(JSONValue.self)) }
            self = .array(elements)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let value = try? single.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? single.decode(Int64.self) {
                self = .int(value)
            } else if let value = try? single.decode(Double.self) {
                self = .double(value)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        if let ours = encoder as? JSONValueEncoding {
            try ours.encodeJSONValue(self)
            return
        }
        switch self {
        case .object(let object):
            var keyed = encoder.container(keyedBy: JSONCodingKey.self)
            for (key, value) in object { try keyed.encode(value, forKey: JSONCodingKey(stringValue: key)) }
        case .array(let elements):
            var unkeyed = encoder.unkeyedContainer()
            for element in elements { try unkeyed.encode(element) }
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .int(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .double(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .string(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        }
    }
}
