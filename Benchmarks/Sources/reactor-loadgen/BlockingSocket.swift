import Glibc

/// A blocking TCP client socket with byte counters, for the sequential measurements (Socket.IO
/// set-up time, reading /metrics) where one request at a time is the point and the event loop
/// would only add states. Every failure ends the process: these runs have no use for a retry.
final class BlockingSocket {
    let fd: Int32
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    private var buffered: [UInt8] = []

    init(host: String, port: UInt16) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { die("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { die("connect to \(host):\(port): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { die("send: \(String(cString: strerror(errno)))") }
            off += n
        }
        bytesSent += bytes.count
    }

    func write(_ text: String) { write(Array(text.utf8)) }

    /// Reads until `buffered` holds at least `count` bytes.
    private func fill(_ count: Int) {
        var chunk = [UInt8](repeating: 0, count: 16384)
        while buffered.count < count {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { die(n == 0 ? "the server closed the connection" : "recv: \(String(cString: strerror(errno)))", status: 2) }
            bytesReceived += n
            buffered += chunk[0..<n]
        }
    }

    private func take(_ count: Int) -> [UInt8] {
        fill(count)
        let out = Array(buffered[0..<count])
        buffered.removeFirst(count)
        return out
    }

    /// One HTTP/1.1 response with a Content-Length body (or none): status, lowercased head, body.
    func readResponse() -> (status: Int, head: String, body: [UInt8]) {
        var scanned = 0
        while true {
            if buffered.count >= 4 {
                for i in max(3, scanned)..<buffered.count where buffered[i] == 10 && buffered[i - 1] == 13 && buffered[i - 2] == 10 && buffered[i - 3] == 13 {
                    let head = String(decoding: take(i + 1), as: UTF8.self).lowercased()
                    let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                    var length = 0
                    for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                        length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: " ")) ?? 0
                    }
                    return (status, head, length > 0 ? take(length) : [])
                }
                scanned = buffered.count
            }
            fill(buffered.count + 1)
        }
    }

    /// Sends a masked client text frame.
    func sendTextFrame(_ text: String) {
        let payload = Array(text.utf8)
        precondition(payload.count < 126)
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var frame: [UInt8] = [0x81, 0x80 | UInt8(payload.count)] + mask
        for (i, b) in payload.enumerated() { frame.append(b ^ mask[i & 3]) }
        write(frame)
    }

    /// Reads one unmasked server frame; returns its opcode and payload.
    func readFrame() -> (opcode: UInt8, payload: [UInt8]) {
        let header = take(2)
        var length = Int(header[1] & 0x7F)
        if length == 126 {
            let ext = take(2)
            length = Int(ext[0]) << 8 | Int(ext[1])
        } else if length == 127 {
            length = take(8).reduce(0) { $0 << 8 | Int($1) }
        }
        return (header[0] & 0x0F, take(length))
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// The reactor demo's Prometheus counters, read once (GET /metrics).
enum MetricsScrape {
    static func read(host: String, port: UInt16) -> [String: Double]? {
        let socket = BlockingSocket(host: host, port: port)
        socket.write("GET /metrics HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        let response = socket.readResponse()
        guard response.status == 200 else { return nil }
        var values: [String: Double] = [:]
        for line in String(decoding: response.body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let v = Double(parts[1]) { values[String(parts[0])] = v }
        }
        return values
    }
}
