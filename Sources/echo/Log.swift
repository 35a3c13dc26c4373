import Glibc
import Connections
import Protocols

enum LogLevel: Int, Comparable {
    case error, warn, info, debug

    init?(name: String) {
        switch name {
        case "error": self = .error
        case "warn": self = .warn
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }

    static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// One line per event on stderr. Not thread-safe by design: each loop logs from its own thread.
///
/// Peer text is escaped where it enters a line (`LogText`, at each library's `errorLog` and for
/// close reasons). As a last guard, a line that still holds a control character is escaped whole
/// here, so no path that forgets can split a line or send escape sequences to a terminal.
struct Log {
    var level: LogLevel

    func callAsFunction(_ l: LogLevel, _ message: @autoclosure () -> String) {
        guard l <= level else { return }
        var text = message()
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { text = LogText.escape(text, limit: LogText.lineLimit) }
        writeLine("[\(l)] \(text)", to: 2)
    }
}

/// Writes one line to a descriptor with a single write(2), unbuffered, so lines from a dying
/// process are never lost in a stdio buffer.
func writeLine(_ text: String, to fd: Int32) {
    var line = text + "\n"
    line.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
}
