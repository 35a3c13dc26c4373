/// Owned copies of borrowed bytes: one spelling for every view the library hands a handler.
///
/// What a parser or a connection hands out on the hot path is borrowed, not copied: an
/// `HTTPByteView` (a path, a header value), a message payload as `UnsafeRawBufferPointer` (a
/// WebSocket message, an Engine.IO packet, a request body). A borrowed view is valid for the call
/// that handed it out and no longer; whatever must outlive that call is copied, always the same
/// way, with the standard library's own initializers:
///
///     let text = String(view)      // UTF-8 decoded, invalid sequences as U+FFFD
///     let bytes = [UInt8](view)    // the bytes as they came
///
/// `[UInt8](x)` is the standard library's, for any of them; `String(x)` is the two initializers
/// below (the standard library spells it `String(decoding: x, as: UTF8.self)`). Both allocate
/// (a String of 15 bytes or fewer does not): call them for what the application keeps.
extension String {
    /// A new String with the view's bytes decoded as UTF-8 (invalid sequences become U+FFFD).
    public init(_ view: HTTPByteView) {
        self.init(decoding: view.bytes, as: UTF8.self)
    }

    /// A new String with these borrowed bytes decoded as UTF-8 (invalid sequences become
    /// U+FFFD): the owned copy of a text payload (`webSocket(_:didReceiveText:)`).
    public init(_ utf8: UnsafeRawBufferPointer) {
        self.init(decoding: utf8, as: UTF8.self)
    }
}
