import Protocols

/// What a session tells its owner (the Socket.IO layer, or an application speaking raw
/// Engine.IO). All calls come on the loop's thread.
///
/// Payloads are borrowed for the call only: they point into the request body of a polling POST or
/// into a WebSocket message, both reused by the next request or message. Copy what must outlive
/// the call with `String(text)` or `[UInt8](data)` (the convention for every borrowed view: see
/// Protocols' OwnedCopies.swift). The Socket.IO layer does: its handlers get owned values.
public protocol EngineIOSessionDelegate: AnyObject {
    /// A text message (the data after the `4`).
    func engineIOSession(_ session: EngineIOSession, didReceiveText text: UnsafeRawBufferPointer)
    /// A binary message.
    func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: UnsafeRawBufferPointer)
    /// The session is closed; nothing sent from now on is delivered.
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason)
}
