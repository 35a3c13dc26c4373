import Protocols
import Reactor

/// The `WebSocketSettings` in use on one loop (in its local storage), so that every socket of a
/// configuration refers to one object rather than each holding its timings and limits (issue 18).
///
/// A few configurations are usual (one per WebSocket route, Engine.IO's transport), so a short
/// list searched in order serves; past `capacity` distinct ones the oldest entry makes room,
/// and its sockets keep their object (each holds a reference), so nothing changes for them.
final class WebSocketSettingsCache {
    private var entries: [WebSocketSettings] = []
    private var nextEvicted = 0
    static let capacity = 8

    func settings(for configuration: WebSocketConfiguration, budget: WebSocketMessageBudget) -> WebSocketSettings {
        let timings = WebSocketConnection.Timings(configuration)
        if let found = entries.first(where: { $0.matches(timings: timings, limits: configuration.limits, budget: budget) }) {
            return found
        }
        let made = WebSocketSettings(timings: timings, limits: configuration.limits, budget: budget)
        if entries.count < Self.capacity {
            entries.append(made)
        } else {
            entries[nextEvicted] = made
            nextEvicted = (nextEvicted + 1) % Self.capacity
        }
        return made
    }
}
