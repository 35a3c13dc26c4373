import Bytes

/// Connection state recovery (Socket.IO 4.6), for one namespace: what a client that dropped
/// needs to come back as if it had not (its socket id, its rooms, the packets it missed), kept
/// for `maxDisconnectionDuration` and within byte bounds. Sans-I/O: the caller says what time it
/// is (`now`, nanoseconds of a monotonic clock) and sends what the store hands back.
///
/// The protocol: with recovery on, the CONNECT answer carries a private session id besides the
/// socket id (`{"sid":…,"pid":…}`), and every EVENT packet without an ack id gets one more
/// argument, last, a string offset (`record`). A client that reconnects puts its `pid` and the
/// last `offset` it saw in its CONNECT payload; if the session was kept (it ended by a transport
/// close, a ping timeout, ...: `isRecoverable`), is within the window, and the offset is still in
/// the log, the client gets its id and rooms back and every logged packet after that offset that
/// its rooms would have received (`restore`). Otherwise it gets a fresh socket, as the reference.
///
/// Bounds: the packet log by count and bytes (`ReplayLog`, the rooms' replay machinery; each
/// packet is charged its text, attachments and room names plus 128 bytes), the kept sessions by
/// count and bytes (room names plus 128 bytes each), oldest first; both also by age.
public struct SocketIORecoveryStore {
    public struct Limits: Sendable {
        /// How long a dropped session and the packets it may miss are kept (the reference's
        /// `maxDisconnectionDuration`).
        public var maxDisconnectionDuration: Duration = .seconds(120)
        /// Packets kept in the namespace's log, and their bytes.
        public var maxPackets = 10_000
        public var maxPacketBytes = 4 << 20
        /// Dropped sessions kept, and their bytes.
        public var maxSessions = 10_000
        public var maxSessionBytes = 4 << 20

        public init() {}
    }

    /// A dropped socket as it will come back.
    public struct Session: Sendable, Equatable {
        public let sid: String
        public let pid: String
        public let rooms: [String]
        let disconnectedAt: UInt64
        var cost: Int { 128 + sid.utf8.count + pid.utf8.count + rooms.reduce(0) { $0 + $1.utf8.count + 32 } }
    }

    /// What a successful recovery gives back: the session, and the packets it missed, oldest first.
    public struct Restored: Sendable {
        public let session: Session
        public let missed: [SocketIORecoverablePacket]
    }

    public let limits: Limits
    private var log: ReplayLog<SocketIORecoverablePacket>
    private var sessions: [String: Session] = [:]
    /// Pids in the order their sessions were kept (a restored or evicted one stays here until it
    /// reaches the front, and is skipped then).
    private var order: [String] = []
    private var orderHead = 0
    public private(set) var sessionBytes = 0
    private var lastID: UInt64 = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
        self.log = ReplayLog(capacity: limits.maxPackets, maxBytes: limits.maxPacketBytes)
    }

    public var packetCount: Int { log.count }
    public var packetBytes: Int { log.bytes }
    public var sessionCount: Int { sessions.count }

    /// Whether a socket that closed for `reason` (as socket.io names them) is kept: not when the
    /// client or the server meant it (a namespace disconnect), nor for a client that broke the
    /// protocol.
    public static func isRecoverable(_ reason: String) -> Bool {
        switch reason {
        case "transport close", "transport error", "ping timeout", "forced close", "server shutting down": true
        default: false
        }
    }

    // MARK: Packets

    /// The offset the next recorded packet will carry.
    public mutating func nextOffset() -> String {
        String(lastID + 1)
    }

    /// Logs an EVENT packet (its Socket.IO text already carries `nextOffset()` as its last
    /// argument, see `appendingOffset`) sent to `rooms` (none: the whole namespace) but not to
    /// `except`. Returns the offset it was logged under.
    @discardableResult
    public mutating func record(text: SharedBytes, attachments: [[UInt8]], rooms: [String], except: [String], now: UInt64) -> String {
        expire(now: now)
        lastID += 1
        _ = log.append(SocketIORecoverablePacket(id: lastID, text: text, attachments: attachments, rooms: rooms, except: except, emittedAt: now))
        return String(lastID)
    }

    /// Logs an EVENT whose Socket.IO text without an offset is `plain`: the offset is appended
    /// (`appendingOffset`) and the packet logged under it. Returns the text as sent, or nil (and
    /// nothing logged) for a text that is not an event's array.
    public mutating func record(plain: UnsafeRawBufferPointer, attachments: [[UInt8]], rooms: [String], except: [String], now: UInt64) -> [UInt8]? {
        guard let text = Self.appendingOffset(nextOffset(), to: plain) else { return nil }
        record(text: SharedBytes(text), attachments: attachments, rooms: rooms, except: except, now: now)
        return text
    }

    /// `packet` (the Socket.IO text of an EVENT, whose data is a JSON array) with `offset` as one
    /// more last argument: `…]` becomes `…,"<offset>"]`, with no decoding. Nil for a text that
    /// does not end its array where expected.
    public static func appendingOffset(_ offset: String, to packet: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let last = packet.last, last == UInt8(ascii: "]") else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(packet.count + offset.utf8.count + 3)
        out += packet.dropLast()
        // An empty array (`[]`) takes no comma.
        if packet.count >= 2, packet[packet.count - 2] != UInt8(ascii: "[") { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out += offset.utf8
        out += [UInt8(ascii: "\""), UInt8(ascii: "]")]
        return out
    }

    // MARK: Sessions

    /// Keeps a socket that dropped, for `restore`.
    public mutating func persist(sid: String, pid: String, rooms: [String], now: UInt64) {
        expire(now: now)
        if let old = sessions[pid] { sessionBytes -= old.cost }
        let session = Session(sid: sid, pid: pid, rooms: rooms, disconnectedAt: now)
        sessions[pid] = session
        sessionBytes += session.cost
        order.append(pid)
        while sessions.count > limits.maxSessions || (sessionBytes > limits.maxSessionBytes && !sessions.isEmpty) {
            evictOldestSession()
        }
        compactOrder()
    }

    /// The session kept under `pid` and the packets it missed since `offset`; nil (and the
    /// session, if any, forgotten) when the pid is unknown, its window has passed, or the offset
    /// is not in the log (never issued, or already let go). A session is restored at most once.
    public mutating func restore(pid: String, offset: String, now: UInt64) -> Restored? {
        expire(now: now)
        guard let session = sessions.removeValue(forKey: pid) else { return nil }
        sessionBytes -= session.cost
        guard let id = UInt64(offset), log.contains(id) else { return nil }
        let missed = log.messages(after: id).filter { $0.reaches(session.rooms) }
        return Restored(session: session, missed: missed)
    }

    /// Lets go of packets and sessions older than the window.
    public mutating func expire(now: UInt64) {
        let window = Self.nanoseconds(limits.maxDisconnectionDuration)
        while let first = log.first, now &- first.emittedAt > window, now >= first.emittedAt {
            _ = log.removeOldest()
        }
        while orderHead < order.count {
            let pid = order[orderHead]
            if let s = sessions[pid] {
                guard now >= s.disconnectedAt, now - s.disconnectedAt > window else { break }
                sessions[pid] = nil
                sessionBytes -= s.cost
            }
            orderHead += 1
        }
        compactOrder()
    }

    private mutating func evictOldestSession() {
        while orderHead < order.count {
            let pid = order[orderHead]
            orderHead += 1
            if let s = sessions.removeValue(forKey: pid) {
                sessionBytes -= s.cost
                return
            }
        }
    }

    /// Drops the skipped front of `order` once it is most of the array.
    private mutating func compactOrder() {
        if orderHead > 64 && orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
    }

    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        guard s >= 0 else { return 0 }
        return UInt64(s) * 1_000_000_000 + UInt64(atto / 1_000_000_000)
    }
}

/// One EVENT packet kept for recovery: its Socket.IO text (offset included) and attachments, and
/// whom it was for.
///
/// Immutable, so it may be read from any loop of a process that shares one store.
public final class SocketIORecoverablePacket: ReplayableMessage, Sendable {
    public let id: UInt64
    public let text: SharedBytes
    public let attachments: [[UInt8]]
    /// The rooms it went to (none: the whole namespace) and those left out.
    public let rooms: [String]
    public let except: [String]
    let emittedAt: UInt64

    init(id: UInt64, text: SharedBytes, attachments: [[UInt8]], rooms: [String], except: [String], emittedAt: UInt64) {
        self.id = id
        self.text = text
        self.attachments = attachments
        self.rooms = rooms
        self.except = except
        self.emittedAt = emittedAt
    }

    public var retainedBytes: Int {
        text.count + attachments.reduce(0) { $0 + $1.count } + (rooms + except).reduce(0) { $0 + $1.utf8.count + 32 }
    }

    /// Whether a socket in `socketRooms` would have received it (the reference's rule: in one of
    /// its rooms, or it went to all; and in none of its except-rooms).
    func reaches(_ socketRooms: [String]) -> Bool {
        let included = rooms.isEmpty || socketRooms.contains { rooms.contains($0) }
        return included && !socketRooms.contains { except.contains($0) }
    }
}
