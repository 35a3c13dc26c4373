/// One server a cluster request reaches: a loop of a process. Processes are told apart by a
/// random id each draws at start (`PubSub.processID`), loops by their index in their process.
public struct ClusterServer: Hashable, Sendable {
    public var process: UInt64
    public var loop: Int
    /// How many loops the server's process has: every one of them answers a request.
    public var processLoops: Int

    public init(process: UInt64, loop: Int, processLoops: Int) {
        self.process = process
        self.loop = loop
        self.processLoops = processLoops
    }

    /// The most loops one process may say it has: a larger claim is refused (`ClusterTally`), so a
    /// bad message cannot make a request wait for more servers than can exist.
    public static let maxProcessLoops = 4096
}

/// Sans-I/O: when a counted cluster request made on one loop has every answer it can get.
///
/// A request (a broadcast asking clients for acks, `serverSideEmitWithAck`, `fetchSockets`) goes
/// to every other loop of its process and, through a broker, to every loop of every other process.
/// Each server answers once with how many items (answers) it will send (`announce`), naming itself
/// and how many loops its process has; then it sends those items. The asking loop knows its own
/// process's loops; how many other processes the request reached comes from the broker (Redis's
/// PUBLISH answers with the number of subscribers that got the message), `remoteProcesses`. Once
/// every one of those processes has been heard from, the servers to wait for are known: every loop
/// of every process. The request is complete when each has announced and as many items as they
/// announced have come.
///
/// A server that never answers (a process that died, a message lost) leaves it incomplete: the
/// caller's timeout ends it, with what came.
public struct ClusterTally: Sendable {
    public let ownProcess: UInt64
    public let ownLoops: Int
    /// Other processes the request reached; nil until the relay has said (or when it cannot).
    public private(set) var remoteProcesses: Int?
    /// Loops of every process heard from (this one's included), by process id.
    private var loops: [UInt64: Int]
    private var announced: Set<ClusterServer> = []
    public private(set) var expectedItems = 0
    public private(set) var items = 0

    public init(ownProcess: UInt64, ownLoops: Int) {
        self.ownProcess = ownProcess
        self.ownLoops = max(1, ownLoops)
        loops = [ownProcess: max(1, ownLoops)]
    }

    /// The relay reports how many other processes it reached (nil: it cannot tell, so only a
    /// timeout ends the request).
    public mutating func reached(remoteProcesses n: Int?) {
        remoteProcesses = n.map { max(0, $0) }
    }

    /// `server` will send `count` items. Refused (false, nothing counted) when it announced
    /// before, names a loop its process does not have, claims more loops than any process may
    /// have or other loop counts than its process's earlier servers, or would add a process beyond
    /// those the relay reached (once known).
    @discardableResult
    public mutating func announce(_ server: ClusterServer, items count: Int) -> Bool {
        guard count >= 0, (1...ClusterServer.maxProcessLoops).contains(server.processLoops),
              (0..<server.processLoops).contains(server.loop), !announced.contains(server) else { return false }
        if let known = loops[server.process] {
            guard known == server.processLoops else { return false }
        } else {
            // Bounded: no more processes than the relay reached (or a generous cap before it says).
            guard loops.count - 1 < (remoteProcesses ?? Self.maxProcessesBeforeCount) else { return false }
            loops[server.process] = server.processLoops
        }
        announced.insert(server)
        expectedItems += count
        return true
    }

    /// One item came (an answer); past those announced, it still counts (it may precede its
    /// server's announcement).
    public mutating func item() { items += 1 }

    /// Every server reached has announced and every item announced has come.
    public var isComplete: Bool {
        guard let remoteProcesses, loops.count - 1 >= remoteProcesses else { return false }
        return announced.count >= loops.values.reduce(0, +) && items >= expectedItems
    }

    /// Processes tracked before the relay says how many it reached.
    public static let maxProcessesBeforeCount = 1024
}
