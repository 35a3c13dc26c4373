import Glibc

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
struct Log {
    var level: LogLevel

    func callAsFunction(_ l: LogLevel, _ message: @autoclosure () -> String) {
        guard l <= level else { return }
        writeLine("[\(l)] \(message())", to: 2)
    }
}

/// Writes one line to a descriptor with a single write(2), unbuffered, so lines from a dying
/// process are never lost in a stdio buffer.
func writeLine(_ text: String, to fd: Int32) {
    var line = text + "\n"
    line.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
}
