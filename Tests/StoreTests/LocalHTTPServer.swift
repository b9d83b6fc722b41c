import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (POSIX sockets, one connection at a time, `Connection: close`), started
/// by a test to stand in for Neuronpedia. `handler(path, attempt)` gives (status, headers, body), where `attempt`
/// counts the requests for that path so far (1 for the first).
final class LocalHTTPServer: @unchecked Sendable {
    typealias Handler = @Sendable (_ path: String, _ attempt: Int) -> (Int, [String: String], Data)

    let port: UInt16
    private let socketFD: Int32
    private let handler: Handler
    private let lock = NSLock()
    private var log: [(path: String, time: Date)] = []
    private let finished = DispatchSemaphore(value: 0)

    /// The requests served so far (path and arrival time).
    var requests: [(path: String, time: Date)] { lock.withLock { log } }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(handler: @escaping Handler) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
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
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        socketFD = fd
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// A port on 127.0.0.1 with nothing listening (for "offline" tests).
    static func closedPort() -> UInt16 {
        let server = try! LocalHTTPServer { _, _ in (200, [:], Data()) }
        let port = server.port
        server.stop()
        return port
    }

    func stop() {
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
        finished.wait()
    }

    private func serve() {
        defer { finished.signal() }
        var counts: [String: Int] = [:]
        while true {
            let client = accept(socketFD, nil, nil)
            if client < 0 { return }
            var request = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !request.containsHeaderEnd {
                let n = recv(client, &buffer, buffer.count, 0)
                if n <= 0 { break }
                request += buffer[0..<n]
            }
            let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
            let parts = firstLine.split(separator: " ")
            let path = parts.count > 1 ? String(parts[1]) : "/"
            counts[path, default: 0] += 1
            lock.withLock { log.append((path, Date())) }
            let (status, headers, body) = handler(path, counts[path]!)
            var head = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Status")\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
            for (k, v) in headers { head += "\(k): \(v)\r\n" }
            let response = Array((head + "\r\n").utf8) + Array(body)
            var sent = 0
            while sent < response.count {
                let n = response[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                sent += n
            }
            close(client)
        }
    }
}

private extension Array where Element == UInt8 {
    var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 { return true }
        return false
    }
}
