import Glibc
import Synchronization

/// Runs an `EventLoop` on a thread of its own, for tests and for services that keep their own
/// main thread. The loop is created on that thread (it never crosses threads); `setup` runs there
/// before the first iteration, then the loop runs until stopped. Talk to it through `handle`.
public final class EventLoopThread: Sendable {
    public let handle: EventLoopHandle
    private let thread: pthread_t

    private final class Start: @unchecked Sendable {
        // Written by the new thread before it posts `ready`, read by the starter after waiting.
        var handle: EventLoopHandle?
        var error: (any Error)?
        var ready = sem_t()
        let configuration: EventLoopConfiguration
        let setup: @Sendable (EventLoop) throws -> Void
        init(configuration: EventLoopConfiguration, setup: @escaping @Sendable (EventLoop) throws -> Void) {
            self.configuration = configuration
            self.setup = setup
            sem_init(&ready, 0, 0)
        }
        deinit { sem_destroy(&ready) }
    }

    /// Starts the thread and returns once `setup` has run (rethrowing its error, in which case no
    /// thread is left running).
    public init(
        configuration: EventLoopConfiguration = EventLoopConfiguration(),
        setup: @escaping @Sendable (EventLoop) throws -> Void = { _ in }
    ) throws {
        let start = Start(configuration: configuration, setup: setup)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(start).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            let loop: EventLoop
            do {
                loop = try EventLoop(configuration: start.configuration)
                start.handle = loop.handle
                try start.setup(loop)
            } catch {
                start.error = error
                sem_post(&start.ready)
                return nil
            }
            sem_post(&start.ready)
            loop.run()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Start>.fromOpaque(context).release()
            throw SystemError(errno: rc, call: "pthread_create")
        }
        while sem_wait(&start.ready) != 0 {}
        if let error = start.error {
            pthread_join(thread, nil)
            throw error
        }
        self.handle = start.handle!
        self.thread = thread
    }

    /// Waits for the loop's thread to finish (after `handle.stop()` or a graceful shutdown).
    public func join() {
        pthread_join(thread, nil)
    }

    /// Stops the loop and waits for its thread: every descriptor it owned is closed on return.
    public func stopAndJoin() {
        handle.stop()
        join()
    }
}
