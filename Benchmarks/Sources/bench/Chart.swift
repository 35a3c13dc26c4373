import Foundation

/// A grouped horizontal bar chart, written as a standalone SVG file by hand: no plotting tool,
/// no package, nothing to install on a CI machine.
///
/// One chart holds one or more panels stacked top to bottom. They share the groups down the left
/// (the loads of a scenario, or its transports); each panel has its own figure, unit and scale,
/// and its own series (one bar per series in every group: the servers, or "down"/"up"). Every
/// bar carries its value, so the chart reads without the table.
///
///     groups   panel 1: msgs/s           panel 2: CPU ns/msg
///     load A   ████████ 1,327,217        ███ 722
///              ███████  1,203,820        ████ 790
struct Chart {
    /// The file: results/NAME-suffix.svg next to results/NAME.md (results/NAME.svg if empty).
    var fileSuffix: String
    var title: String
    var subtitle: String = ""
    /// One band of bars per group, top to bottom.
    var groups: [String]
    var panels: [Panel]

    struct Series {
        var name: String
        /// One value per group; nil draws no bar (and "n/a").
        var values: [Double?]
    }

    enum ValueFormat {
        /// 1,327,217
        case integer
        /// Three significant digits: 0.245, 12.3, 990 (for figures spanning decades).
        case significant
    }

    struct Panel {
        /// The figure and its unit, e.g. "throughput (msgs/s, higher is better)".
        var title: String
        var series: [Series]
        /// Powers of ten along the axis: for figures that span decades (latency from 0.3 ms to 1 s).
        var logScale = false
        var format = ValueFormat.integer
    }

    // Layout, in SVG user units (pixels at 100%).
    private static let width = 820.0
    private static let barHeight = 14.0
    private static let barGap = 3.0
    private static let groupGap = 12.0
    private static let valueLabelRoom = 86.0
    /// Tableau 10: distinguishable, and readable in grey.
    private static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1"]

    /// The whole SVG document.
    func svg() -> String {
        let labelWidth = min(300, Double(groups.map(\.count).max() ?? 0) * 6.8 + 16)
        let left = max(90, labelWidth)
        let plotWidth = Self.width - left - Self.valueLabelRoom
        var y = 30.0
        var body = text(title, x: 12, y: y, size: 16, weight: "bold")
        if !subtitle.isEmpty {
            y += 18
            body += text(subtitle, x: 12, y: y, size: 11, fill: "#555")
        }
        y += 16
        for panel in panels {
            y += 18
            body += text(panel.title, x: 12, y: y, size: 13, weight: "bold")
            // The legend: one swatch per series.
            y += 8
            var x = left
            for (s, series) in panel.series.enumerated() {
                body += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"10\" height=\"10\" fill=\"\(color(s))\"/>\n"
                body += text(series.name, x: x + 14, y: y + 9, size: 11)
                x += 14 + Double(series.name.count) * 6.2 + 18
            }
            y += 18
            let scale = Scale(panel: panel)
            let plotTop = y
            let bandHeight = Double(panel.series.count) * (Self.barHeight + Self.barGap) - Self.barGap
            let plotHeight = Double(groups.count) * (bandHeight + Self.groupGap) - Self.groupGap
            // Grid lines and tick labels first, so the bars lie over them.
            for tick in scale.ticks {
                let tx = left + scale.position(tick) * plotWidth
                body += "<line x1=\"\(n(tx))\" y1=\"\(n(plotTop - 2))\" x2=\"\(n(tx))\" y2=\"\(n(plotTop + plotHeight + 2))\" stroke=\"#ddd\"/>\n"
                body += text(tickLabel(tick), x: tx, y: plotTop + plotHeight + 16, size: 10, fill: "#555", anchor: "middle")
            }
            for (g, group) in groups.enumerated() {
                let bandTop = plotTop + Double(g) * (bandHeight + Self.groupGap)
                body += text(group, x: left - 8, y: bandTop + bandHeight / 2 + 4, size: 12, anchor: "end")
                for (s, series) in panel.series.enumerated() {
                    let barTop = bandTop + Double(s) * (Self.barHeight + Self.barGap)
                    let value = g < series.values.count ? series.values[g] : nil
                    guard let value else {
                        body += text("n/a", x: left + 4, y: barTop + Self.barHeight - 3, size: 10, fill: "#777")
                        continue
                    }
                    let w = max(0, scale.position(value)) * plotWidth
                    body += "<rect x=\"\(n(left))\" y=\"\(n(barTop))\" width=\"\(n(max(w, 1)))\" height=\"\(n(Self.barHeight))\" fill=\"\(color(s))\">"
                        + "<title>\(escape("\(group), \(series.name): \(format(value, panel.format))"))</title></rect>\n"
                    body += text(format(value, panel.format), x: left + w + 4, y: barTop + Self.barHeight - 3, size: 10)
                }
            }
            body += "<line x1=\"\(n(left))\" y1=\"\(n(plotTop - 2))\" x2=\"\(n(left))\" y2=\"\(n(plotTop + plotHeight + 2))\" stroke=\"#333\"/>\n"
            y = plotTop + plotHeight + 28
        }
        let height = y + 6
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(Self.width))" height="\(n(height))" \
            viewBox="0 0 \(n(Self.width)) \(n(height))" font-family="Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="#fff"/>
            \(body)</svg>

            """
    }

    /// Where a value falls along a panel's axis, 0...1, and the values the axis marks.
    private struct Scale {
        let logScale: Bool
        let low: Double
        let high: Double
        let ticks: [Double]

        init(panel: Panel) {
            let values = panel.series.flatMap { $0.values.compactMap { $0 } }.filter { $0.isFinite }
            logScale = panel.logScale
            if panel.logScale {
                // Whole decades from below the smallest positive value to above the largest.
                let positive = values.filter { $0 > 0 }
                let lowExp = floor(log10(positive.min() ?? 1))
                var highExp = ceil(log10(positive.max() ?? 10))
                if highExp <= lowExp { highExp = lowExp + 1 }
                low = pow(10, lowExp)
                high = pow(10, highExp)
                ticks = stride(from: lowExp, through: highExp, by: 1).map { pow(10, $0) }
            } else {
                // 0 to a round number above the largest value, in steps of 1, 2 or 5 x 10^k.
                let top = max(values.max() ?? 1, 1e-9)
                let rough = top / 5
                let magnitude = pow(10, floor(log10(rough)))
                let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
                low = 0
                high = ceil(top / step) * step
                ticks = stride(from: 0, through: high + step / 2, by: step).map { $0 }
            }
        }

        func position(_ value: Double) -> Double {
            if logScale {
                guard value > 0 else { return 0 }
                return (log10(value) - log10(low)) / (log10(high) - log10(low))
            }
            return high > low ? (value - low) / (high - low) : 0
        }
    }

    private func format(_ value: Double, _ style: ValueFormat) -> String {
        switch style {
        case .integer:
            return grouped(value)
        case .significant:
            let magnitude = abs(value)
            if magnitude >= 100 || value == 0 { return grouped(value) }
            return fixed(value, magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3)
        }
    }

    /// Axis marks are round numbers: no trailing zeros (0.1, 1, 10, 1,000).
    private func tickLabel(_ value: Double) -> String {
        value >= 1000 ? grouped(value) : String(format: "%g", value)
    }

    private func color(_ series: Int) -> String { Self.palette[series % Self.palette.count] }

    private func text(_ s: String, x: Double, y: Double, size: Int, weight: String = "normal",
                      fill: String = "#222", anchor: String = "start") -> String {
        "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(size)\" font-weight=\"\(weight)\" fill=\"\(fill)\" "
            + "text-anchor=\"\(anchor)\">\(escape(s))</text>\n"
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Coordinates with one decimal: enough for a screen, and a stable file from run to run.
    private func n(_ v: Double) -> String { fixed(v, 1) }
}

extension Chart {
    /// The chart the server comparisons share: throughput and CPU time per item for every
    /// server, one band per load. `throughput[load][server]`, `cpu[load][server]`.
    static func throughputAndCPU(scenario: String, subtitle: String, loads: [String], servers: [String],
                                 throughputUnit: String, throughput: [[Double]],
                                 cpuUnit: String, cpu: [[Double]]) -> Chart {
        func series(_ values: [[Double]]) -> [Series] {
            servers.enumerated().map { i, server in Series(name: server, values: values.map { $0[i] }) }
        }
        return Chart(fileSuffix: "", title: scenario, subtitle: subtitle, groups: loads, panels: [
            Panel(title: "throughput (\(throughputUnit), higher is better)", series: series(throughput)),
            Panel(title: "server CPU time per item (\(cpuUnit), lower is better)", series: series(cpu)),
        ])
    }
}
