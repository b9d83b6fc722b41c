import Foundation
import GRDB
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches feature JSON from Neuronpedia's API (`GET {base}/api/feature/{modelId}/{source}/{index}`) with a cache
/// in the database (`neuronpedia_cache`, keyed by "modelId/source/index" so that it serves any base URL), a rate limit, and retries with exponential backoff.
///
/// Retried: transport errors, HTTP 429 and 5xx (waiting `retryDelay · 2^attempt` seconds, or the server's
/// `Retry-After` when it is longer, up to 60 s). Not retried: other HTTP errors (404 means the feature does not
/// exist). When the host cannot be reached after the retries, the error says so and how many features the cache
/// served, so that a user knows to re-run when online (or to import a bulk export instead).
public struct NeuronpediaFetcher: Sendable {
    public var baseURL: URL
    /// Upper bound on request rate (requests per second); requests are spaced by at least 1/rate seconds.
    public var requestsPerSecond: Double
    /// Retries after the first attempt.
    public var retries: Int
    /// Base delay of the exponential backoff (seconds).
    public var retryDelay: Double
    /// Per-request timeout (seconds).
    public var timeout: Double
    /// Ignore cached responses (they are still refreshed in the cache).
    public var refresh: Bool

    public static let defaultBaseURL = URL(string: "https://www.neuronpedia.org")!

    public init(baseURL: URL = NeuronpediaFetcher.defaultBaseURL, requestsPerSecond: Double = 2, retries: Int = 3,
                retryDelay: Double = 1, timeout: Double = 30, refresh: Bool = false) {
        self.baseURL = baseURL; self.requestsPerSecond = requestsPerSecond; self.retries = retries
        self.retryDelay = retryDelay; self.timeout = timeout; self.refresh = refresh
    }

    /// The API URL of one feature.
    public func url(modelId: String, source: String, index: Int) -> URL {
        baseURL.appendingPathComponent("api").appendingPathComponent("feature").appendingPathComponent(modelId)
            .appendingPathComponent(source).appendingPathComponent(String(index))
    }

    /// One fetched feature.
    public struct Fetched: Sendable {
        public var index: Int
        public var url: String
        public var body: Data
        public var fromCache: Bool
    }

    /// Fetches the features (cache first), storing each new response in the cache as it arrives, and returns the
    /// parsed records in the order of `indices`. `progress(done, total)` is called after each feature.
    public func fetch(modelId: String, source: String, indices: [Int], store: StoreDatabase,
                      progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> (fetched: [Fetched], records: [NeuronpediaRecord]) {
        var fetched: [Fetched] = []
        var records: [NeuronpediaRecord] = []
        var lastRequest: Date?
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        for (n, index) in indices.enumerated() {
            let url = url(modelId: modelId, source: source, index: index)
            let key = "\(modelId)/\(source)/\(index)"
            var body: Data?
            var fromCache = false
            if !refresh {
                body = try store.read { db in try Data.fetchOne(db, sql: "SELECT body FROM neuronpedia_cache WHERE key = ?", arguments: [key]) }
                fromCache = body != nil
            }
            if body == nil {
                let cachedCount = fetched.filter(\.fromCache).count
                let data = try await get(url, session: session, lastRequest: &lastRequest, servedFromCache: cachedCount, of: indices.count)
                // Validate before caching: only feature JSON goes into the cache.
                _ = try Neuronpedia.parse(data: data, file: url.absoluteString, singleDocument: true)
                try store.write { db in
                    try db.execute(sql: """
                        INSERT INTO neuronpedia_cache (key, url, body, fetched_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP)
                        ON CONFLICT(key) DO UPDATE SET url = excluded.url, body = excluded.body, fetched_at = excluded.fetched_at
                        """, arguments: [key, url.absoluteString, data])
                }
                body = data
            }
            let parsed = try Neuronpedia.parse(data: body!, file: url.absoluteString, singleDocument: true)
            records += parsed
            fetched.append(Fetched(index: index, url: url.absoluteString, body: body!, fromCache: fromCache))
            progress(n + 1, indices.count)
        }
        return (fetched, records)
    }

    private func get(_ url: URL, session: URLSession, lastRequest: inout Date?, servedFromCache: Int, of total: Int) async throws -> Data {
        var attempt = 0
        while true {
            if let last = lastRequest, requestsPerSecond > 0 {
                let wait = 1 / requestsPerSecond - Date().timeIntervalSince(last)
                if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
            }
            lastRequest = Date()
            var request = URLRequest(url: url)
            request.setValue("application/json", forHTTPHeaderField: "Accept")
            request.setValue("semprog", forHTTPHeaderField: "User-Agent")
            let outcome: Result<(Data, HTTPURLResponse), Error> = await withCheckedContinuation { continuation in
                session.dataTask(with: request) { data, response, error in
                    if let error { continuation.resume(returning: .failure(error)); return }
                    guard let http = response as? HTTPURLResponse else {
                        continuation.resume(returning: .failure(URLError(.badServerResponse))); return
                    }
                    continuation.resume(returning: .success((data ?? Data(), http)))
                }.resume()
            }
            var retryAfter: Double?
            let failure: String
            switch outcome {
            case let .success((data, http)):
                switch http.statusCode {
                case 200..<300: return data
                case 429, 500..<600:
                    failure = "HTTP \(http.statusCode)"
                    retryAfter = (http.value(forHTTPHeaderField: "Retry-After")).flatMap(Double.init)
                case 404:
                    throw StoreError.network(url: url.absoluteString, reason: "HTTP 404: Neuronpedia has no such feature (check --model-id, --source and the index)")
                default:
                    throw StoreError.network(url: url.absoluteString, reason: "HTTP \(http.statusCode): \(String(decoding: data.prefix(200), as: UTF8.self))")
                }
            case let .failure(error):
                failure = error.localizedDescription
                if attempt >= retries {
                    let code = (error as? URLError)?.code
                    let unreachable: Set<URLError.Code> = [.cannotConnectToHost, .notConnectedToInternet, .cannotFindHost,
                                                          .dnsLookupFailed, .timedOut, .networkConnectionLost]
                    let hint = code.map { unreachable.contains($0) } ?? false
                        ? "cannot reach \(url.host ?? "the server") — you seem to be offline"
                        : "request failed"
                    throw StoreError.network(url: url.absoluteString, reason: "\(hint) (\(failure)) after \(retries + 1) attempts; "
                        + "\(servedFromCache) of \(total) features were served from the cache. Re-run when online, "
                        + "or import a bulk export with 'semprog neuronpedia import'.")
                }
            }
            if attempt >= retries {
                throw StoreError.network(url: url.absoluteString, reason: "\(failure) after \(retries + 1) attempts")
            }
            let delay = max(retryDelay * pow(2, Double(attempt)), min(retryAfter ?? 0, 60))
            try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            attempt += 1
        }
    }

    /// Parses a feature list such as "0,5,10-20" (ranges inclusive).
    public static func parseIndices(_ list: String) throws -> [Int] {
        var out: [Int] = []
        for part in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1, let i = Int(part), i >= 0 { out.append(i); continue }
            if bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a >= 0, a <= b { out += Array(a...b); continue }
            throw StoreError.invalidArgument("--features: '\(part)' is not an index or a range like 10-20")
        }
        guard !out.isEmpty else { throw StoreError.invalidArgument("--features: no feature index given") }
        var seen = Set<Int>()
        return out.filter { seen.insert($0).inserted }
    }
}
