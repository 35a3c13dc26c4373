/// One benchmark: it starts its servers and load, measures, and returns a report.
///
/// To add one, write a type conforming to `Scenario` in Scenarios/ and list it in
/// `allScenarios`. A scenario kills everything it starts (a `defer { child.stop() }`
/// next to each start); the runner's error path and signal handler are the backstop.
protocol Scenario: Sendable {
    /// The name on the command line and of the results file (results/NAME.md).
    var name: String { get }
    /// One line for `bench --list` and the README.
    var summary: String { get }
    /// Runs the scenario. Throws if a server fails to start or the load generator
    /// reports a failure; missing a performance target is not an error.
    func run(_ context: Context) throws -> Report
}

/// The outcome of a scenario: markdown for the terminal and the results file, whether
/// every target was met (a full run exits 1 if not; a quick run ignores it), and charts,
/// each written as an SVG next to the results file.
struct Report {
    var markdown: String
    var targetsMet: Bool
    var charts: [Chart] = []
}

/// Every scenario, in the order `bench` runs them when none is named.
let allScenarios: [any Scenario] = [
    TCPEcho(),
    HTTPPlaintext(),
    WebSocketEcho(),
    Broadcast(),
    IdleMemory(),
    SocketIOBroadcast(),
    Transports(),
    Scaling(),
    RedisHop(),
    TLSScenario(),
]
