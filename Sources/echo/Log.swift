import Connections

extension LogLevel {
    /// The demo's `--log-level` names (`warn` and `warning` both mean `.warning`).
    init?(name: String) {
        switch name {
        case "error": self = .error
        case "warn", "warning": self = .warning
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }
}

/// The demo logs like the library, through a `LogSink`: lines on standard error, one write(2)
/// each. `writeLogLine` writes the banner lines to standard output the same way.
typealias Log = LogSink
