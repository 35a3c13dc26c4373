import Foundation

/// `key=value key=value` (the load generator's and the malloc counter's output format).
func parseKeyValues<S: StringProtocol>(_ line: S) -> [String: String] {
    var values: [String: String] = [:]
    for word in line.split(whereSeparator: \.isWhitespace) {
        guard let eq = word.firstIndex(of: "=") else { continue }
        values[String(word[..<eq])] = String(word[word.index(after: eq)...])
    }
    return values
}

/// The median: the figure reported from repeated runs, robust to one noisy run.
func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of nothing")
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// 1385306.3 -> "1,385,306"
func grouped(_ value: Double) -> String {
    // A run that delivered nothing has no cost per delivery: say so rather than trap.
    guard value.isFinite else { return "n/a" }
    let digits = String(Int(value.rounded()))
    var out = ""
    for (i, ch) in digits.reversed().enumerated() {
        if i > 0, i % 3 == 0, ch != "-" { out.append(",") }
        out.append(ch)
    }
    return String(out.reversed())
}

func fixed(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

func percent(_ fraction: Double) -> String { fraction.isFinite ? "\(Int((fraction * 100).rounded()))%" : "n/a" }

/// A markdown table; the first column is left-aligned, the rest right-aligned (numbers).
func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
    let align = [":--"] + Array(repeating: "--:", count: header.count - 1)
    return ([header, align] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
}

/// When and where a result was measured, for the results file.
func machineLine() -> String {
    let date = ISO8601DateFormatter().string(from: Date())
    let kernel = ProcessInfo.processInfo.operatingSystemVersionString
    return "\(date), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, \(kernel)"
}

/// Prints a line and flushes at once, so progress shows as it happens even when piped
/// (`fflush(nil)` because Swift 6 will not let us name the C global `stdout`).
func say(_ text: String) {
    print(text)
    fflush(nil)
}
