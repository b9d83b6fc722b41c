import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (POSIX sockets, a thread per connection, `Connection: close`) that
/// tests start to stand in for Neuronpedia or an OpenAI-compatible chat endpoint. `handler(index, request)`
/// answers the index-th request (from 0); every request is logged with its arrival time and its attempt number
/// (how many requests for the same path have arrived, from 1).
public final class TestHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// Header names lower-cased.
        public var headers: [String: String]
        public var body: Data
        /// 1 for the first request for `path`, 2 for the second, …
        public var attempt: Int
        public var time: Date
        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        /// Seconds to wait before answering (for timeout and concurrency tests).
        public var delaySeconds: Double

        public init(status: Int = 200, body: Data = Data(), headers: [String: String] = [:], delaySeconds: Double = 0) {
            self.status = status; self.body = body; self.headers = headers; self.delaySeconds = delaySeconds
        }

        public init(status: Int = 200, text: String, headers: [String: String] = [:], delaySeconds: Double = 0) {
            self.init(status: status, body: Data(text.utf8), headers: headers, delaySeconds: delaySeconds)
        }
    }

    public let port: UInt16
    private let listener: Int32
    private let handler: @Sendable (Int, Request) -> Reply
    private let lock = NSLock()
    private var received: [Request] = []
    private var attempts: [String: Int] = [:]
    private var active = 0
    private var peak = 0
    private let finished = DispatchSemaphore(value: 0)

    /// The requests served so far, in arrival order.
    public var requests: [Request] { lock.withLock { received } }
    /// The most connections that were open at once.
    public var maxConcurrentConnections: Int { lock.withLock { peak } }
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Listens on a free port of 127.0.0.1.
    public init(handler: @escaping @Sendable (_ index: Int, _ request: Request) -> Reply) throws {
        self.handler = handler
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        listener = fd
        Thread { [self] in acceptLoop() }.start()
    }

    /// A server that answers by path: `reply(path, attempt)` gives (status, headers, body).
    public static func paths(_ reply: @escaping @Sendable (_ path: String, _ attempt: Int) -> (Int, [String: String], Data)) throws -> TestHTTPServer {
        try TestHTTPServer { _, request in
            let (status, headers, body) = reply(request.path, request.attempt)
            return Reply(status: status, body: body, headers: headers)
        }
    }

    /// A port on 127.0.0.1 with nothing listening (for "offline" tests).
    public static func closedPort() -> UInt16 {
        let server = try! TestHTTPServer { _, _ in Reply() }
        let port = server.port
        server.stop()
        return port
    }

    /// Stops listening (connections in flight finish) and waits for the accept loop to end.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        finished.wait()
    }

    private func acceptLoop() {
        defer { finished.signal() }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            Thread { [self] in serve(client) }.start()
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        lock.withLock { active += 1; peak = max(peak, active) }
        defer { lock.withLock { active -= 1 } }
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        func readMore() -> Bool {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            guard readMore() else { return }
            headerEnd = buffer.range(of: separator)
        }
        let head = String(decoding: buffer[..<headerEnd!.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["expect"]?.lowercased() == "100-continue" { sendAll(client, Data("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count - headerEnd!.upperBound < length { guard readMore() else { return } }
        let body = Data(buffer[headerEnd!.upperBound..<(headerEnd!.upperBound + length)])
        let path = requestLine.count > 1 ? String(requestLine[1]) : "/"
        let (index, request): (Int, Request) = lock.withLock {
            attempts[path, default: 0] += 1
            let request = Request(method: requestLine.first.map(String.init) ?? "", path: path, headers: headers,
                                  body: body, attempt: attempts[path]!, time: Date())
            received.append(request)
            return (received.count - 1, request)
        }
        let reply = handler(index, request)
        if reply.delaySeconds > 0 { Thread.sleep(forTimeInterval: reply.delaySeconds) }
        var response = "HTTP/1.1 \(reply.status) \(reply.status == 200 ? "OK" : "Status")\r\n"
        for (k, v) in reply.headers { response += "\(k): \(v)\r\n" }
        if reply.headers.keys.first(where: { $0.lowercased() == "content-type" }) == nil {
            response += "Content-Type: application/json\r\n"
        }
        response += "Content-Length: \(reply.body.count)\r\nConnection: close\r\n\r\n"
        sendAll(client, Data(response.utf8) + reply.body)
    }

    private func sendAll(_ client: Int32, _ data: Data) {
        let bytes = [UInt8](data)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }
}
