// bench: the one entry point of the benchmarks. See Benchmarks/README.md.
//
//   swift run -c release --package-path Benchmarks bench [--quick] [scenario ...]
//   swift run -c release --package-path Benchmarks bench gate [--write-budgets] [path ...]
import Foundation

// The gate is a command of its own: its own options, its own exit status (Gate/Gate.swift).
if CommandLine.arguments.dropFirst().first == "gate" {
    Gate.main(Array(CommandLine.arguments.dropFirst(2)))
}

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    let message = "\(error)"
    FileHandle.standardError.write(Data(((message.isEmpty ? "" : "bench: \(message)\n\n") + Options.usage + "\n").utf8))
    exit(message.isEmpty ? 0 : 2)
}

if options.list {
    for scenario in allScenarios { say("\(scenario.name)\t\(scenario.summary)") }
    exit(0)
}

let selected: [any Scenario]
if options.scenarios.isEmpty {
    selected = allScenarios
} else {
    let known = Dictionary(uniqueKeysWithValues: allScenarios.map { ($0.name, $0) })
    let unknown = options.scenarios.filter { known[$0] == nil }
    guard unknown.isEmpty else {
        FileHandle.standardError.write(Data("bench: unknown scenario \(unknown.joined(separator: ", ")); known: \(allScenarios.map(\.name).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    selected = options.scenarios.compactMap { known[$0] }
}

ChildTable.installSignalCleanup()
Proc.raiseOpenFileLimit() // the children inherit it: websocket-echo opens 10,000 connections
let context = Context(options: options)
var allTargetsMet = true
do {
    try context.compileCPrograms()
    try FileManager.default.createDirectory(atPath: context.resultsDir, withIntermediateDirectories: true)
    for scenario in selected {
        say("== \(scenario.name): \(scenario.summary)")
        let report = try scenario.run(context)
        say(report.markdown)
        var markdown = report.markdown
        for chart in report.charts {
            let svg = "\(scenario.name)\(chart.fileSuffix.isEmpty ? "" : "-\(chart.fileSuffix)").svg"
            try chart.svg().write(toFile: "\(context.resultsDir)/\(svg)", atomically: true, encoding: .utf8)
            markdown += "\n![\(chart.title)](\(svg))\n"
            say("(chart written to \(context.resultsDir)/\(svg))")
        }
        let file = "\(context.resultsDir)/\(scenario.name).md"
        try markdown.write(toFile: file, atomically: true, encoding: .utf8)
        say("(written to \(file))\n")
        allTargetsMet = allTargetsMet && report.targetsMet
    }
} catch {
    Child.stopAll()
    FileHandle.standardError.write(Data("bench: FAILED: \(error)\n".utf8))
    exit(2)
}
Child.stopAll() // nothing should be left; belt and braces
exit(allTargetsMet || options.quick ? 0 : 1)
