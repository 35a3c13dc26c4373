import Glibc
import Protocols

/// How much a log line matters, most important first.
public enum LogLevel: Int, Comparable, Sendable, CustomStringConvertible {
    case error, warning, info, debug

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .error: "error"
        case .warning: "warning"
        case .info: "info"
        case .debug: "debug"
        }
    }
}

/// Where the library's log lines go: the HTTP, Engine.IO and Socket.IO servers, the Redis client
/// and relay all write through one of these. Plug in your logger with `LogSink(level:write:)`;
/// the default, `standardError()`, writes each line with one write(2) to descriptor 2.
///
/// `write` may be called from any loop's thread (each component logs on its own loop), hence
/// `@Sendable`: a sink that appends to shared state must lock it. A line the level hides costs
/// nothing, not even its text.
public struct LogSink: Sendable {
    /// The least important level written.
    public var level: LogLevel
    private let write: @Sendable (LogLevel, String) -> Void

    public init(level: LogLevel = .info, write: @escaping @Sendable (LogLevel, String) -> Void) {
        self.level = level
        self.write = write
    }

    /// `[level] text` lines on standard error, one unbuffered write(2) each: no stdio buffer to
    /// lose in a dying process, and no shared `FILE*`, which Swift 6 rightly refuses to touch from
    /// several threads.
    public static func standardError(level: LogLevel = .info) -> LogSink {
        LogSink(level: level) { level, text in writeLogLine("[\(level)] \(text)", to: 2) }
    }

    /// Writes nothing.
    public static let discard = LogSink(level: .error) { _, _ in }

    public func isEnabled(_ level: LogLevel) -> Bool { level <= self.level }

    /// Writes `message` when `level` is enabled. Peer text is escaped where it enters a line
    /// (`LogText`); as a last guard a line that still holds a control character is escaped whole,
    /// so no path that forgets can split a line or send escape sequences to a terminal.
    public func callAsFunction(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level <= self.level else { return }
        var text = message()
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { text = LogText.escape(text, limit: LogText.lineLimit) }
        write(level, text)
    }
}

/// Writes one line to a descriptor with a single write(2).
public func writeLogLine(_ text: String, to fd: Int32) {
    var line = text + "\n"
    line.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
}
