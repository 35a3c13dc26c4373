// swift-tools-version:6.0
// The benchmark harness is its own package so that its needs (Foundation here; later
// swift-nio for the SwiftNIO baselines) never leak into the root package, which
// depends on the toolchain alone. It drives the root package's binaries as separate
// processes, built with `swift build --package-path ..`, so it does not depend on it.
import PackageDescription

let package = Package(
    name: "ReactorBenchmarks",
    products: [
        .executable(name: "bench", targets: ["bench"]),
    ],
    targets: [
        // The runner: builds the C baselines and the servers under test, runs each
        // scenario, prints and writes the results. See README.md.
        .executableTarget(
            name: "bench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
