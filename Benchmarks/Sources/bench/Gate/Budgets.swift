import Foundation

/// The committed budgets (Benchmarks/gate/budgets.txt): per path, the user-space instructions
/// and heap allocations one operation may cost in steady state.
///
/// One row per path, whitespace-separated: name, instructions per operation (callgrind Ir),
/// allocations per operation, then how the path is measured (free text to the end of the
/// line, written from `GatePath.how`). `#` starts a comment line. The file is read by name, so
/// rows may come in any order; a path with no row is measured and reported, not judged.
struct Budget: Equatable {
    var instructions: Double
    var allocations: Double
}

enum Budgets {
    /// The budget file's header: what the figures are and how they move.
    static let header = """
        # The gate's budgets (`swift run -c release --package-path Benchmarks bench gate`; see
        # Benchmarks/README.md, "The gate"). Per path: user-space instructions (callgrind Ir) and
        # heap allocations (malloc-family calls) per operation in steady state, measured on the
        # release `echo` demo under a fixed load (Benchmarks/gate/client.py), warm-up excluded.
        # The gate fails when a path costs more than 3% over its instructions, or any allocation
        # over its allocations. A budget moves only in the commit that earns it, with the figures
        # before and after in the commit message; `bench gate --write-budgets` measures and
        # rewrites this file.
        #
        # path         Ir/op  allocs/op  how it is measured
        """

    static func read(_ file: String) throws -> [String: Budget] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw BenchError("cannot read the budget file \(file)")
        }
        var budgets: [String: Budget] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: \.isWhitespace)
            guard fields.count >= 3, let ir = Double(fields[1]), let allocs = Double(fields[2]),
                  ir > 0, allocs >= 0 else {
                throw BenchError("\(file):\(index + 1): expected `path instructions allocations how...`, got: \(trimmed)")
            }
            let name = String(fields[0])
            guard budgets[name] == nil else { throw BenchError("\(file):\(index + 1): a second row for \(name)") }
            budgets[name] = Budget(instructions: ir, allocations: allocs)
        }
        return budgets
    }

    /// The file for `figures` (paths in `GatePath.all` order).
    static func text(_ figures: [(path: GatePath, budget: Budget)]) -> String {
        var out = header + "\n"
        for (path, budget) in figures {
            out += column(path.name, 15) + column(String(Int(budget.instructions.rounded(.up))), 7)
                + column(allocationText(budget.allocations), 11) + path.how + "\n"
        }
        return out
    }

    /// `text` padded with spaces to `width`, never cut (a longer figure just pushes the row).
    private static func column(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }

    /// Allocations per operation as the file keeps them: rounded up to 1e-6, far below one
    /// allocation in any window the gate measures (1/16,000 per operation at the most).
    static func allocationText(_ perOperation: Double) -> String {
        if perOperation == 0 { return "0" }
        var text = String(format: "%.6f", (perOperation * 1e6 - 1e-6).rounded(.up) / 1e6)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
