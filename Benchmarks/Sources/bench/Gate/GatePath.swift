/// One path the gate measures: a fixed load from `gate/client.py` against the reactor's `echo`
/// demo, counted in operations, with the sentence that says how (written into the budget file).
///
/// The counts are chosen so that two runs agree to well under 1% (they agree to about 0.1%:
/// the residue is the timer wheel's sweep, which grows with wall time, not with operations)
/// while each path takes a few seconds under callgrind. The warm-up pays every one-time cost
/// first: lazily built tables, buffers grown to their working size, and for the rooms a replay
/// log already full (1,000 messages by default), so every publish in the window evicts one, as
/// in a room that has lived a while.
struct GatePath: Sendable {
    /// The name in the budget file, on the command line, and the client's mode.
    let name: String
    /// Client steps before the window, and in it (a step is one request, one batch of 16
    /// pipelined requests, one message, or one publish fanned out to 16 subscribers).
    let warmupSteps: Int
    let steps: Int
    /// How the path is measured, for the budget file's last column.
    let how: String
    /// Demo flags this path adds to the gate's own (a feature that is off by default).
    var serverFlags: [String] = []
    /// What an issue's bar asks of this path, judged in the gate's report (not by the gate's
    /// pass or fail, which is the budget's: a bar not yet met must not block every commit).
    var bar: Bar? = nil

    struct Bar: Sendable {
        /// Instructions per operation at most, if the bar names them.
        var instructions: Double? = nil
        var allocations: Double
        /// Where the bar comes from ("issue 18"), and what an operation is in its words.
        let issue: String
        let what: String
    }

    static let all: [GatePath] = [
        GatePath(name: "http-get", warmupSteps: 1_000, steps: 10_000,
                 how: "GET /plaintext on one keep-alive connection, one request at a time; op = one request (10,000 after 1,000)",
                 bar: Bar(instructions: 2_000, allocations: 0, issue: "issue 18", what: "per request, no pipelining")),
        GatePath(name: "http-pipelined", warmupSteps: 100, steps: 1_000,
                 how: "GET /plaintext, 16 requests per write on one connection, the next 16 after all 16 answers; op = one request (16,000 after 1,600)",
                 bar: Bar(instructions: 1_500, allocations: 0, issue: "issue 18", what: "per request, pipelined")),
        GatePath(name: "ws-echo-32", warmupSteps: 1_000, steps: 10_000,
                 how: "GET /echo WebSocket, one 32-byte binary message at a time, echo awaited and checked; op = one message (10,000 after 1,000)",
                 bar: Bar(allocations: 0, issue: "issue 18", what: "per echoed message")),
        GatePath(name: "ws-echo-16k", warmupSteps: 200, steps: 2_000,
                 how: "GET /echo WebSocket, one 16 KiB binary message at a time, echo awaited and checked; op = one message (2,000 after 200)",
                 bar: Bar(allocations: 0, issue: "issue 18", what: "per echoed message")),
        GatePath(name: "http-get-async", warmupSteps: 1_000, steps: 10_000,
                 how: "GET /plaintext-async (an async route) on one keep-alive connection, one request at a time; op = one request (10,000 after 1,000)",
                 bar: Bar(allocations: 2, issue: "issue 16", what: "per async request")),
        GatePath(name: "http-pipelined-async", warmupSteps: 100, steps: 1_000,
                 how: "GET /plaintext-async, 16 requests per write on one connection, the next 16 after all 16 answers; op = one request (16,000 after 1,600)",
                 bar: Bar(allocations: 2, issue: "issue 16", what: "per async request, pipelined")),
        GatePath(name: "ws-echo-32-async", warmupSteps: 1_000, steps: 10_000,
                 how: "GET /echo-async WebSocket (the async API), one 32-byte binary message at a time, echo awaited and checked; op = one message (10,000 after 1,000)",
                 bar: Bar(allocations: 2, issue: "issue 16", what: "per async echoed message")),
        // 16 messages per write: the named benchmark's load (16 in flight per connection),
        // where a reader usually finds messages waiting. One at a time does not show what
        // that path costs: d6d0c3c cut the one-at-a-time async echo by 730 instructions and
        // made this one 900 dearer, and only the named run's CPU figure showed it.
        GatePath(name: "ws-burst-32", warmupSteps: 100, steps: 1_000,
                 how: "GET /echo WebSocket, 16 32-byte binary messages per write, all 16 echoes awaited and checked; op = one message (16,000 after 1,600)",
                 bar: Bar(allocations: 0, issue: "issue 18", what: "per echoed message, 16 in flight")),
        GatePath(name: "ws-burst-32-async", warmupSteps: 100, steps: 1_000,
                 how: "GET /echo-async WebSocket (the async API), 16 32-byte binary messages per write, all 16 echoes awaited and checked; op = one message (16,000 after 1,600)",
                 bar: Bar(allocations: 2, issue: "issue 16", what: "per async echoed message, 16 in flight")),
        GatePath(name: "sse", warmupSteps: 1_100, steps: 1_000,
                 how: "16 GET /events?room=gate-sse streams; one POST /send of 32 bytes at a time, each awaited on all 16; op = one delivery, 1/16 of the POST included (16,000 after 17,600)"),
        GatePath(name: "broadcast", warmupSteps: 1_100, steps: 1_000,
                 how: "16 /chat?room=gate-room WebSockets; one sends a 32-byte text, all 16 (the sender too) receive it before the next; op = one delivery (per recipient) (16,000 after 17,600)"),
        GatePath(name: "socketio", warmupSteps: 500, steps: 5_000,
                 how: "one Socket.IO client (WebSocket transport, namespace /) emits `message` with 32 characters, the demo emits `message-back` to it; op = one emit and its reply (5,000 after 500)"),
        // Recovery on: every event without an ack is logged (the namespace's lock, the replay
        // log) and carries its offset; the difference from `socketio` is the bookkeeping's
        // price per emit. The warm-up fills the log past its 10,000 packets, so that every
        // emit in the window evicts one, as in a namespace that has lived a while.
        GatePath(name: "socketio-recovery", warmupSteps: 10_500, steps: 5_000,
                 how: "as socketio, with connection state recovery on (--sio-recovery 120000): each message-back is logged (the log full: one evicted per emit) and carries its offset; op = one emit and its reply (5,000 after 10,500)",
                 serverFlags: ["--sio-recovery", "120000"]),
    ]
}
