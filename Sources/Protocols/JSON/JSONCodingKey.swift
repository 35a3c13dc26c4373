/// The coding keys `JSONValueEncoder` and `JSONValueDecoder` make up themselves: an array
/// element's position in a coding path, and the `super` key of `superEncoder()` /
/// `superDecoder()`. Spelled as Foundation's `JSONEncoder` spells them ("Index 3", "super"), so
/// an error's coding path reads the same whichever coder produced it.
struct JSONCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }

    /// An array element's position, as a coding path shows it.
    init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }

    /// The key `superEncoder()` and `superDecoder()` use when the caller names none.
    static let superKey = JSONCodingKey(stringValue: "super")
}

extension JSONValue {
    /// What this value is, for an error message ("found a string instead").
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
