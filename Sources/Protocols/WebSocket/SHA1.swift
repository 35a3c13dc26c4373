/// SHA-1 (FIPS 180-4, 6.1), for the one place RFC 6455 needs it: `Sec-WebSocket-Accept` is
/// base64(SHA-1(key + GUID)) (RFC 6455 4.2.2).
///
/// SHA-1 is broken for collision resistance; the handshake uses it as a fixed, public function
/// that proves the server read the key, not as a security boundary. Do not use it for anything
/// that must resist an attacker.
///
/// Three ways in, from most to least convenient:
/// - `hash(_:)` returns a fresh 20-byte `[UInt8]` (one allocation);
/// - `digest(_:)` returns a `Digest`, 20 bytes held inline, no allocation;
/// - `Hasher` takes the message in pieces, so the handshake hashes the key where it lies in the
///   receive buffer and then the GUID, without concatenating them.
public enum SHA1 {
    /// Bytes in a SHA-1 digest.
    public static let digestByteCount = 20

    /// Hashes `bytes` in one call and returns the 20-byte digest as a new array.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        digest(bytes).bytes
    }

    /// Hashes `bytes` in one call without allocating.
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var hasher = Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// A SHA-1 digest: 20 bytes stored inline, no heap.
    /// Read it with `withUnsafeBytes`, `copyBytes(to:)`, or `bytes` (which allocates).
    public struct Digest: Equatable, Sendable, CustomStringConvertible {
        /// The five state words, each already byte-swapped to big-endian, so the tuple's memory
        /// (homogeneous tuples are laid out contiguously) is the digest in its standard byte order.
        var words: (UInt32, UInt32, UInt32, UInt32, UInt32)

        /// Calls `body` with the 20 digest bytes, valid for the call only.
        public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try Swift.withUnsafeBytes(of: words, body)
        }

        /// Copies the 20 digest bytes to the start of `buffer`; returns 20, or nil (copying
        /// nothing) when `buffer` is shorter.
        public func copyBytes(to buffer: UnsafeMutableRawBufferPointer) -> Int? {
            guard buffer.count >= SHA1.digestByteCount else { return nil }
            withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return SHA1.digestByteCount
        }

        /// The digest as a new array.
        public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

        /// Lowercase hex, as `sha1sum` prints it.
        public var description: String {
            withUnsafeBytes { Hex.string($0) }
        }

        public static func == (a: Digest, b: Digest) -> Bool {
            a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
                && a.words.3 == b.words.3 && a.words.4 == b.words.4
        }
    }

    /// Incremental SHA-1: `update` with the message in any number of pieces, then `finalize`.
    ///
    /// A value type with no heap storage (about 100 bytes); copying it forks the computation,
    /// so a common prefix can be hashed once and finished two ways.
    public struct Hasher: Sendable {
        /// H0...H4, the running state (FIPS 180-4, 5.3.1).
        private var state: (UInt32, UInt32, UInt32, UInt32, UInt32) =
            (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        /// The start of a block that `update` could not finish; its first `pendingCount` bytes
        /// are meaningful. A tuple rather than an array so the hasher never allocates.
        private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0)
        private var pendingCount = 0
        /// Message length so far, in bytes; the padding needs it in bits, modulo 2^64.
        private var totalCount: UInt64 = 0

        /// A hasher that has seen no bytes.
        public init() {}

        /// Appends `bytes` to the message.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            let count = bytes.count
            totalCount &+= UInt64(count)
            var offset = 0
            // Top up a partial block first; full blocks are then hashed straight from `bytes`,
            // so the common case copies nothing.
            if pendingCount > 0 {
                let take = min(64 - pendingCount, count)
                let at = pendingCount
                Swift.withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.advanced(by: at).copyMemory(from: base, byteCount: take) }
                pendingCount += take
                offset = take
                guard pendingCount == 64 else { return }
                let block = pending
                Swift.withUnsafeBytes(of: block) { SHA1.compress(&state, $0.baseAddress!) }
                pendingCount = 0
            }
            while count - offset >= 64 {
                SHA1.compress(&state, base + offset)
                offset += 64
            }
            if offset < count {
                let rest = count - offset
                Swift.withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: base + offset, byteCount: rest) }
                pendingCount = rest
            }
        }

        /// Appends the UTF-8 of `text` to the message (for constants such as the RFC 6455 GUID).
        public mutating func update(_ text: some StringProtocol) {
            let done: Void? = text.utf8.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
            if done == nil {
                Array(text.utf8).withUnsafeBytes { update($0) }
            }
        }

        /// The digest of everything appended so far. The hasher itself is left as it was, so
        /// more bytes may still be appended for a longer message.
        public func finalize() -> Digest {
            var copy = self
            let bitLength = totalCount &* 8
            // Padding: 0x80, then zeros until 8 bytes short of a block boundary, then the
            // length in bits, big-endian (FIPS 180-4, 5.1.1). At most 64 + 8 bytes.
            var padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0)
            let zeros = pendingCount < 56 ? 55 - pendingCount : 119 - pendingCount
            Swift.withUnsafeMutableBytes(of: &padding) { pad in
                pad[0] = 0x80
                pad.storeBytes(of: bitLength.bigEndian, toByteOffset: 1 + zeros, as: UInt64.self)
                copy.update(UnsafeRawBufferPointer(rebasing: pad[0..<(1 + zeros + 8)]))
            }
            assert(copy.pendingCount == 0)
            let s = copy.state
            return Digest(words: (s.0.bigEndian, s.1.bigEndian, s.2.bigEndian, s.3.bigEndian, s.4.bigEndian))
        }
    }

    /// The compression function: folds one 64-byte block at `block` (any alignment) into `state`.
    /// The message schedule is kept as a rolling window of 16 words (W[t] only needs W[t-16...t-3]),
    /// on the stack.
    static func compress(_ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32), _ block: UnsafeRawPointer) {
        var w: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var (a, b, c, d, e) = state
        Swift.withUnsafeMutableBytes(of: &w) { raw in
            let w = raw.bindMemory(to: UInt32.self)
            for t in 0..<16 {
                w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self))
            }
            @inline(__always) func schedule(_ t: Int) -> UInt32 {
                if t < 16 { return w[t] }
                let x = w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^ w[t & 15]
                w[t & 15] = rotl(x, 1)
                return w[t & 15]
            }
            @inline(__always) func round(_ f: UInt32, _ k: UInt32, _ wt: UInt32) {
                let temp = rotl(a, 5) &+ f &+ e &+ k &+ wt
                e = d
                d = c
                c = rotl(b, 30)
                b = a
                a = temp
            }
            for t in 0..<20 { round((b & c) | (~b & d), 0x5A82_7999, schedule(t)) }
            for t in 20..<40 { round(b ^ c ^ d, 0x6ED9_EBA1, schedule(t)) }
            for t in 40..<60 { round((b & c) | (b & d) | (c & d), 0x8F1B_BCDC, schedule(t)) }
            for t in 60..<80 { round(b ^ c ^ d, 0xCA62_C1D6, schedule(t)) }
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
    }

    @inline(__always) static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 {
        (x &<< n) | (x &>> (32 &- n))
    }
}
