// The README's Swift snippets, compiled with the package so they cannot drift from the API (and
// `ExamplesTests` fails when a snippet here and its README copy differ). Each also runs:
//
//   swift run Examples loop    the echo server of "Embedding a loop", on 127.0.0.1:9000
//   swift run Examples http    the HTTP server with a WebSocket route, on 127.0.0.1:8080
//   swift run Examples routes  the routes of "Routes", on 127.0.0.1:8080
//   swift run Examples service the service of docs/SERVICE.md, four loops on port 8080
//   swift run Examples tcp-async  the async TCP echo of docs/SERVICE.md, on 127.0.0.1:7000
//
// Built from the public API alone, as an application would be.
import Connections
import Reactor

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "loop":
    try embeddingALoop()
case "service":
    try runTheService()
case "tcp-async":
    let loop = try EventLoop()
    asyncEcho(on: loop)
    try loop.handleTerminationSignals()
    loop.run()
case "http":
    let loop = try EventLoop()
    try httpServerWithAWebSocketRoute(on: loop)
    try loop.handleTerminationSignals()
    loop.run()
case "routes":
    let loop = try EventLoop()
    let router = HTTPRouter()
    routesWithPatterns(on: router)
    try HTTPServer(loop: loop, router: router).listen(on: SocketAddress(ip: "127.0.0.1", port: 8080))
    try loop.handleTerminationSignals()
    loop.run()
default:
    print("usage: Examples loop | http | routes | service | tcp-async")
}
