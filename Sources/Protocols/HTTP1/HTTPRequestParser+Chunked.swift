// Chunked request bodies (RFC 9112 7.1): framing is walked byte by byte and consumed as it is
// read, so a chunk-size line or trailer split across reads is never re-read or buffered.

extension HTTPRequestParser {
    /// Walks chunk framing one byte at a time, consuming it as it goes (so nothing of a chunk
    /// line is ever re-read), and returns at the first chunk data, at the end, or when the input
    /// runs out. The trailer section is validated like header fields and then dropped.
    @usableFromInline
    mutating func nextChunked(_ base: UnsafeRawPointer, _ count: Int) -> (event: HTTPParserEvent, consumed: Int) {
        var i = 0
        while true {
            if phase == .chunkData {
                let n = min(remaining, count - i)
                guard n > 0 else { return (.needMoreData, i) }
                remaining -= n
                if remaining == 0 { phase = .chunkDataCR }
                return (.body(i..<(i + n)), i + n)
            }
            guard i < count else { return (.needMoreData, i) }
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            i += 1

            switch phase {
            case .chunkSizeStart:
                guard let digit = hexValue(c) else { return fail(.invalidChunkSize) }
                chunkSize = digit
                chunkLineLength = 1
                phase = .chunkSizeDigits
            case .chunkSizeDigits, .chunkSizeWhitespace, .chunkExtension:
                chunkLineLength += 1
                if chunkLineLength > limits.maxChunkLineLength { return fail(.invalidChunkSize) }
                if c == asciiCR {
                    phase = .chunkSizeLF
                } else if c == asciiLF {
                    guard limits.allowsBareLineFeed else { return fail(.bareLF) }
                    if let e = chunkSizeLineEnded() { return fail(e) }
                } else if phase == .chunkSizeDigits, let digit = hexValue(c) {
                    // Saturate rather than overflow: any size this large fails the body limit.
                    chunkSize = chunkSize > (Int.max >> 5) ? chunkSize : chunkSize << 4 | digit
                } else if c == 0x3B {  // ';' starts an extension, which we ignore
                    if phase != .chunkExtension { phase = .chunkExtension }
                } else if phase == .chunkExtension {
                    if !isFieldValueByte(c) { return fail(.invalidChunkSize) }
                } else if isOWS(c) {
                    phase = .chunkSizeWhitespace  // BWS, allowed only before ';'
                } else {
                    return fail(.invalidChunkSize)
                }
            case .chunkSizeLF:
                guard c == asciiLF else { return fail(.bareCR) }
                if let e = chunkSizeLineEnded() { return fail(e) }
            case .chunkDataCR:
                if c == asciiCR {
                    phase = .chunkDataLF
                } else if c == asciiLF && limits.allowsBareLineFeed {
                    phase = .chunkSizeStart
                } else {
                    return fail(c == asciiLF ? .bareLF : .invalidChunkTerminator)
                }
            case .chunkDataLF:
                guard c == asciiLF else { return fail(.bareCR) }
                phase = .chunkSizeStart
            case .trailerLineStart, .trailerName, .trailerValue, .trailerLF, .trailerEndLF:
                trailerBytes += 1
                if trailerBytes > limits.maxHeadLength { return fail(.headTooLarge) }
                if let e = trailerByte(c) { return fail(e) }
                if phase == .endPending {
                    phase = .head
                    return (.end, i)
                }
            default:
                preconditionFailure("nextChunked in phase \(phase)")
            }
        }
    }

    /// At the LF of a chunk-size line: a zero size starts the trailer section, any other size
    /// the chunk data, after checking the running total against the body limit.
    private mutating func chunkSizeLineEnded() -> HTTPParserError? {
        if chunkSize == 0 {
            phase = .trailerLineStart
            trailerBytes = 0
            trailerCount = 0
            return nil
        }
        if chunkSize > limits.maxBodyLength - bodyTotal { return .bodyTooLarge }
        bodyTotal += chunkSize
        remaining = chunkSize
        phase = .chunkData
        return nil
    }

    /// One byte of the trailer section: field lines as in the head, then an empty line. Sets
    /// `phase` to `.endPending` at the final LF.
    private mutating func trailerByte(_ c: UInt8) -> HTTPParserError? {
        switch phase {
        case .trailerLineStart:
            if c == asciiCR {
                phase = .trailerEndLF
            } else if c == asciiLF {
                guard limits.allowsBareLineFeed else { return .bareLF }
                phase = .endPending
            } else if isOWS(c) {
                return .obsoleteLineFolding
            } else if isTokenByte(c) {
                trailerCount += 1
                if trailerCount > limits.maxHeaderCount { return .tooManyHeaders }
                phase = .trailerName
            } else {
                return .invalidHeaderName
            }
        case .trailerName:
            if c == asciiColon {
                phase = .trailerValue
            } else if isOWS(c) {
                return .whitespaceBeforeColon  // a later byte may not be ':', but either way it is invalid
            } else if !isTokenByte(c) {
                return .invalidHeaderName
            }
        case .trailerValue:
            if c == asciiCR {
                phase = .trailerLF
            } else if c == asciiLF {
                guard limits.allowsBareLineFeed else { return .bareLF }
                phase = .trailerLineStart
            } else if !isFieldValueByte(c) {
                return .invalidHeaderValue
            }
        case .trailerLF:
            guard c == asciiLF else { return .bareCR }
            phase = .trailerLineStart
        case .trailerEndLF:
            guard c == asciiLF else { return .bareCR }
            phase = .endPending
        default:
            preconditionFailure("trailerByte in phase \(phase)")
        }
        return nil
    }
}
