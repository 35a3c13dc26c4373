@testable import Connections
import Protocols
import XCTest

/// The sockets of one configuration on a loop share one `WebSocketSettings` (issue 18: their
/// timings and limits are not copied into every idle socket); another configuration gets its own.
final class WebSocketSettingsCacheTests: XCTestCase {
    func testOneConfigurationSharesOneObjectAndAnotherGetsItsOwn() {
        let cache = WebSocketSettingsCache()
        let budget = WebSocketMessageBudget()
        var chat = WebSocketConfiguration()
        chat.limits.maxMessageSize = 4096
        let a = cache.settings(for: WebSocketConfiguration(), budget: budget)
        let b = cache.settings(for: WebSocketConfiguration(), budget: budget)
        let c = cache.settings(for: chat, budget: budget)
        XCTAssertTrue(a === b)
        XCTAssertFalse(a === c)
        XCTAssertEqual(c.limits.maxMessageSize, 4096)
        XCTAssertTrue(c.budget === budget)
        var slower = WebSocketConfiguration()
        slower.pingInterval = .seconds(90)
        XCTAssertEqual(cache.settings(for: slower, budget: budget).timings.pingInterval, .seconds(90))
        XCTAssertFalse(cache.settings(for: WebSocketConfiguration(), budget: WebSocketMessageBudget()) === a,
                       "another loop's budget: not the same settings")
    }

    /// Past its capacity the cache still answers each configuration with its own values.
    func testManyConfigurationsEachGetTheirOwnValues() {
        let cache = WebSocketSettingsCache()
        let budget = WebSocketMessageBudget()
        for round in 0..<3 {
            for size in 1...(WebSocketSettingsCache.capacity * 2) {
                var configuration = WebSocketConfiguration()
                configuration.limits.maxMessageSize = size * 1000
                XCTAssertEqual(cache.settings(for: configuration, budget: budget).limits.maxMessageSize, size * 1000, "round \(round)")
            }
        }
    }
}
