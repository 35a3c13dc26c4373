import Protocols

/// What a session tells its owner (the Socket.IO layer, or an application speaking raw
/// Engine.IO). All calls come on the loop's thread; payloads are borrowed for the call only.
public protocol EngineIOSessionDelegate: AnyObject {
    /// A text message (the data after the `4`).
    func engineIOSession(_ session: EngineIOSession, didReceiveText text: UnsafeRawBufferPointer)
    /// A binary message.
    func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: UnsafeRawBufferPointer)
    /// The session is closed; nothing sent from now on is delivered.
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason)
}
