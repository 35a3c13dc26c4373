import Reactor

/// A mode that runs on one event loop: `start` opens its connections; `tick` is called after
/// every loop iteration when it runs on a fixed schedule (see `drive`).
protocol LoadRun: AnyObject {
    func start() throws
    func tick()
}

extension LoadRun {
    func tick() {}
}

/// Runs a mode on one loop on this thread until it stops the loop. A mode on a fixed schedule
/// (open loop) spins, `runOnce(timeout: .zero)` and `tick` after every iteration, so that its
/// messages leave on schedule to the microsecond rather than on the timing wheel's 1 ms tick;
/// the load generator has its CPU to itself.
func drive(spinning: Bool, _ make: (EventLoop) throws -> any LoadRun) {
    do {
        let loop = try EventLoop()
        let run = try make(loop)
        try run.start()
        if spinning {
            while loop.runOnce(timeout: .zero) { run.tick() }
            loop.close()
        } else {
            loop.run()
        }
    } catch {
        die("\(error)")
    }
}
