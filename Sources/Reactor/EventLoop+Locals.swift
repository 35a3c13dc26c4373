extension EventLoop {
    /// This loop's one instance of `T`, made by `make` the first time it is asked for, and kept
    /// until the loop is freed.
    ///
    /// For state that protocols share among the connections of one loop and must not share
    /// across loops: a budget counted over the loop's WebSockets, a compressor its sockets take
    /// turns with. Keyed by type, so a layer above the loop keeps what it needs here without the
    /// loop knowing the type, without a global, and without every caller that creates a socket
    /// having to thread the object through. Loop-bound like everything else here: call it on the
    /// loop's thread (`EventLoop` is not Sendable, so the compiler sees to that). Not for the hot
    /// path: it is a dictionary look-up; take the object once per connection and keep it.
    public func local<T: AnyObject>(_ type: T.Type, orMake make: () -> T) -> T {
        let key = ObjectIdentifier(type)
        if let existing = locals[key] { return unsafeDowncast(existing, to: T.self) }
        let made = make()
        locals[key] = made
        return made
    }
}
