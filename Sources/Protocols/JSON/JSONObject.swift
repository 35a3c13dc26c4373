import Glibc

/// A JSON object: its members in the order they were parsed or inserted, with unique keys.
///
/// Storage is an array of entries, plus a key-to-position dictionary once the object holds more
/// than `JSONObject.indexThreshold` (8) members. Socket.IO payloads are mostly a handful of keys,
/// where a linear scan of the array beats hashing and costs no second allocation; a large object
/// pays for the dictionary and gets O(1) lookups. The array alone decides the order.
///
/// Keys are unique. Setting a key that is already present replaces its value where it stands,
/// as Python's `dict` does; the parser does the same with a duplicated key, so
/// `{"a":1,"b":2,"a":3}` reads as `{"a":3,"b":2}` (RFC 8259 leaves duplicates to the
/// implementation; this is what Python's `json` and JavaScript's `JSON.parse` produce).
///
/// Keys are compared by their UTF-8 bytes, as Python and JavaScript compare them, not by
/// Swift's `String` equality (canonical equivalence): `"é"` written as U+00E9 and as
/// `e` + U+0301 are two different keys, as they are to the peer that sent them.
///
/// Equality and hashing ignore order, as JSON's data model and Python's `dict` do:
/// `{"a":1,"b":2} == {"b":2,"a":1}`. Serialization keeps the stored order.
public struct JSONObject: Hashable, Sendable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)
    public typealias Index = Int

    /// Above this many members, lookups go through a dictionary index.
    public static let indexThreshold = 8

    /// One member. A struct rather than the `Element` tuple: the compiler gives a struct
    /// specialized copy and destroy code, where arrays of a (String, enum) tuple went through
    /// the runtime's generic tuple witnesses (measured: among the parser's largest costs).
    struct Member {
        var key: String
        var value: JSONValue
    }

    /// The members, in order. The source of truth. (Readable in the module for the serializer.)
    private(set) var entries: [Member]
    /// Key to position in `entries`; nil while `entries.count <= indexThreshold`.
    private var index: [JSONKey: Int]?

    /// An empty object.
    public init() {
        entries = []
        index = nil
    }

    private init(entries: [Member], index: [JSONKey: Int]?) {
        self.entries = entries
        self.index = index
    }

    /// An object with `members` in order; a repeated key keeps its first position and its last value.
    public init(_ members: some Sequence<(String, JSONValue)>) {
        self.init()
        for (key, value) in members { self[key] = value }
    }

    /// A literal keeps its written order; a repeated key keeps its first position and last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    // MARK: Collection (positions in order)

    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public subscript(position: Int) -> Element {
        let member = entries[position]
        return (member.key, member.value)
    }

    /// The keys, in order.
    public var keys: [String] { entries.map(\.key) }
    /// The values, in key order.
    public var values: [JSONValue] { entries.map(\.value) }

    // MARK: Lookup and update

    /// The position of `key`, or nil.
    public func index(forKey key: String) -> Int? {
        if let index { return index[JSONKey(key)] }
        for position in entries.indices where JSONKey.sameUTF8(entries[position].key, key) {
            return position
        }
        return nil
    }

    /// The value for `key`. Setting nil removes the member; setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { index(forKey: key).map { entries[$0].value } }
        set {
            if let newValue {
                updateValue(newValue, forKey: key)
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// Replaces the value of `key` in place, or appends the member. Returns the old value.
    @discardableResult
    public mutating func updateValue(_ value: JSONValue, forKey key: String) -> JSONValue? {
        if let position = index(forKey: key) {
            let old = entries[position].value
            entries[position].value = value
            return old
        }
        entries.append(Member(key: key, value: value))
        if index != nil {
            index![JSONKey(key)] = entries.count - 1
        } else if entries.count > Self.indexThreshold {
            rebuildIndex()
        }
        return nil
    }

    /// Removes `key` and returns its value; later members move up one place (O(n)).
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let position = index(forKey: key) else { return nil }
        let old = entries.remove(at: position).value
        if entries.count > Self.indexThreshold {
            rebuildIndex()
        } else {
            index = nil
        }
        return old
    }

    /// Removes every member.
    public mutating func removeAll(keepingCapacity: Bool = false) {
        entries.removeAll(keepingCapacity: keepingCapacity)
        index = nil
    }

    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        entries.reserveCapacity(minimumCapacity)
    }

    private mutating func rebuildIndex() {
        var built = [JSONKey: Int](minimumCapacity: entries.count)
        for (position, entry) in entries.enumerated() { built[JSONKey(entry.key)] = position }
        index = built
    }

    /// The parser's way in: the members of one object as read, usually with unique keys.
    /// Checking that costs one pass (pairwise for small objects, through the new index for
    /// large ones) and no array growth; a duplicate falls back to one insertion at a time.
    init(parsedMembers members: [Member]) {
        if members.count <= Self.indexThreshold {
            var unique = true
            var i = 0
            search: while i < members.count {
                for j in 0..<i where JSONKey.sameUTF8(members[i].key, members[j].key) {
                    unique = false
                    break search
                }
                i += 1
            }
            if unique {
                self.init(entries: members, index: nil)
                return
            }
        } else {
            var built = [JSONKey: Int](minimumCapacity: members.count)
            var unique = true
            for (position, member) in members.enumerated()
            where built.updateValue(position, forKey: JSONKey(member.key)) != nil {
                unique = false
                break
            }
            if unique {
                self.init(entries: members, index: built)
                return
            }
        }
        self.init()
        for member in members { updateValue(member.value, forKey: member.key) }
    }

    // MARK: Hashable, ignoring order

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        // The usual case (a round trip, a copy) has the same order: compare pairwise first.
        var i = 0
        while i < lhs.entries.count, JSONKey.sameUTF8(lhs.entries[i].key, rhs.entries[i].key) {
            guard lhs.entries[i].value == rhs.entries[i].value else { return false }
            i += 1
        }
        // Keys are unique on both sides and the counts match, so every member of lhs
        // found equal in rhs means the objects are equal.
        while i < lhs.entries.count {
            guard let other = rhs[lhs.entries[i].key], other == lhs.entries[i].value else { return false }
            i += 1
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // XOR of per-member hashes: the same for any order (as Swift's Dictionary does).
        var members = 0
        for (key, value) in self {
            var member = Hasher()
            member.combine(JSONKey(key))
            member.combine(value)
            members ^= member.finalize()
        }
        hasher.combine(entries.count)
        hasher.combine(members)
    }
}

/// A `String` that is equal to another, and hashes, by its UTF-8 bytes: JSON's notion of the
/// same key, where Swift's `String` would merge canonically equivalent spellings.
struct JSONKey: Hashable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (lhs: JSONKey, rhs: JSONKey) -> Bool { sameUTF8(lhs.string, rhs.string) }

    func hash(into hasher: inout Hasher) {
        let utf8 = string.utf8
        hasher.combine(utf8.count)
        let hashed: Void? = utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in utf8 { hasher.combine(byte) }
        }
    }

    /// Whether two strings have the same UTF-8 bytes.
    @inline(__always)
    static func sameUTF8(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.utf8
        let right = rhs.utf8
        guard left.count == right.count else { return false }
        // Swift's == is quick to say "different", and never says it of equal bytes; only its
        // "equal" needs checking byte by byte (it also means canonically equivalent).
        guard lhs == rhs else { return false }
        let same = left.withContiguousStorageIfAvailable { l in
            right.withContiguousStorageIfAvailable { r in
                l.count == 0 || memcmp(l.baseAddress!, r.baseAddress!, l.count) == 0
            }
        }
        if let known = same ?? nil { return known }
        return left.elementsEqual(right)
    }
}
