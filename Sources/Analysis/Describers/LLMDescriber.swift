import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A describer backed by any OpenAI-compatible chat-completions endpoint (`POST {baseURL}/chat/completions`).
///
/// It sends `describerSystemPrompt` and `describerPrompt(baseline:steered:)` and returns the first choice's message,
/// trimmed. Each request has a timeout; HTTP 429, 5xx and timeouts are retried up to `maxRetries` times with
/// exponential backoff (initialBackoff · 2^(attempt−1), capped at maxBackoff, at least a `Retry-After` given in
/// seconds); at most `maxConcurrentRequests` requests are in flight at once across all callers of this instance.
/// Other HTTP errors, unreachable hosts and malformed JSON fail at once with a `DescriberError` naming the URL.
public final class LLMDescriber: Describer {
    /// Endpoint, model and request policy.
    public struct Settings: Sendable, Equatable {
        /// API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`.
        public var baseURL: URL
        public var model: String
        /// Sent as `Authorization: Bearer …` when present.
        public var apiKey: String?
        /// Seconds to wait for one complete response.
        public var timeoutSeconds: Double
        /// Extra attempts after the first for 429, 5xx and timeouts.
        public var maxRetries: Int
        public var initialBackoffSeconds: Double
        public var maxBackoffSeconds: Double
        public var maxConcurrentRequests: Int
        public var temperature: Double
        /// `max_tokens` of the completion.
        public var maxTokens: Int

        public init(baseURL: URL, model: String, apiKey: String? = nil, timeoutSeconds: Double = 60,
                    maxRetries: Int = 3, initialBackoffSeconds: Double = 1, maxBackoffSeconds: Double = 30,
                    maxConcurrentRequests: Int = 4, temperature: Double = 0, maxTokens: Int = 48) {
            self.baseURL = baseURL
            self.model = model
            self.apiKey = apiKey
            self.timeoutSeconds = timeoutSeconds
            self.maxRetries = maxRetries
            self.initialBackoffSeconds = initialBackoffSeconds
            self.maxBackoffSeconds = maxBackoffSeconds
            self.maxConcurrentRequests = maxConcurrentRequests
            self.temperature = temperature
            self.maxTokens = maxTokens
        }

        /// Settings from explicit options, else the environment: `OPENAI_BASE_URL` (default
        /// `https://api.openai.com/v1`), `SEMPROG_LLM_MODEL` (required) and `OPENAI_API_KEY` (optional).
        public static func resolve(baseURL: String?, model: String?, apiKey: String?,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
            let base = baseURL ?? environment["OPENAI_BASE_URL"] ?? "https://api.openai.com/v1"
            guard let url = URL(string: base), let scheme = url.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", url.host != nil else {
                throw DescriberError.invalidArgument(name: "base URL (--llm-base-url / OPENAI_BASE_URL)",
                                                     reason: "'\(base)' is not an http(s) URL")
            }
            guard let model = model ?? environment["SEMPROG_LLM_MODEL"], !model.isEmpty else {
                throw DescriberError.invalidArgument(name: "model (--llm-model / SEMPROG_LLM_MODEL)",
                                                     reason: "no model name given")
            }
            let key = apiKey ?? environment["OPENAI_API_KEY"]
            return Settings(baseURL: url, model: model, apiKey: key?.isEmpty == true ? nil : key)
        }

        func validate() throws {
            func check(_ ok: Bool, _ name: String, _ reason: String) throws {
                if !ok { throw DescriberError.invalidArgument(name: name, reason: reason) }
            }
            try check(timeoutSeconds > 0 && timeoutSeconds.isFinite, "timeoutSeconds", "must be positive")
            try check(maxRetries >= 0, "maxRetries", "must be at least 0")
            try check(initialBackoffSeconds >= 0 && maxBackoffSeconds >= 0, "backoff", "must not be negative")
            try check(maxConcurrentRequests >= 1, "maxConcurrentRequests", "must be at least 1")
            try check(maxTokens >= 1, "maxTokens", "must be at least 1")
            try check(!model.isEmpty, "model", "must not be empty")
        }
    }

    public let settings: Settings
    /// `{baseURL}/chat/completions`.
    public let endpoint: URL
    public var name: String { "llm:" + settings.model }

    private let session: URLSession
    private let limiter: ConcurrencyLimiter

    public init(settings: Settings) throws {
        try settings.validate()
        self.settings = settings
        let path = settings.baseURL.path
        endpoint = path.hasSuffix("/chat/completions") ? settings.baseURL
            : settings.baseURL.appendingPathComponent("chat").appendingPathComponent("completions")
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = settings.timeoutSeconds + 5
        configuration.timeoutIntervalForResource = settings.timeoutSeconds + 5
        session = URLSession(configuration: configuration)
        limiter = ConcurrencyLimiter(limit: settings.maxConcurrentRequests)
    }

    public convenience init(baseURL: URL, model: String, apiKey: String? = nil, timeoutSeconds: Double = 60,
                            maxRetries: Int = 3, maxConcurrentRequests: Int = 4) throws {
        try self.init(settings: Settings(baseURL: baseURL, model: model, apiKey: apiKey,
                                         timeoutSeconds: timeoutSeconds, maxRetries: maxRetries,
                                         maxConcurrentRequests: maxConcurrentRequests))
    }

    /// Lets running data tasks end by themselves (see `send`: cancelling them can trap on Linux).
    deinit { session.finishTasksAndInvalidate() }

    public func describe(baseline: String, steered: String) async throws -> String {
        let body = try requestBody(prompt: describerPrompt(baseline: baseline, steered: steered))
        await limiter.acquire()
        do {
            let answer = try await complete(body: body)
            await limiter.release()
            return answer
        } catch {
            await limiter.release()
            throw error
        }
    }

    /// The chat-completions request body for one user prompt.
    func requestBody(prompt: String) throws -> Data {
        let object: [String: Any] = [
            "model": settings.model,
            "messages": [
                ["role": "system", "content": describerSystemPrompt],
                ["role": "user", "content": prompt],
            ],
            "temperature": settings.temperature,
            "max_tokens": settings.maxTokens,
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Sends `body`, retrying as documented, and extracts the answer.
    func complete(body: Data) async throws -> String {
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let key = settings.apiKey { request.setValue("Bearer " + key, forHTTPHeaderField: "Authorization") }
        request.timeoutInterval = settings.timeoutSeconds + 5
        let url = endpoint.absoluteString
        var attempt = 0
        while true {
            attempt += 1
            let retryAfter: Double?
            let failure: DescriberError
            switch await send(request) {
            case let .success((data, response)):
                if (200..<300).contains(response.statusCode) {
                    return try Self.parseAnswer(data, url: url)
                }
                failure = .httpStatus(url: url, status: response.statusCode, body: Self.snippet(data), attempts: attempt)
                let retryable = response.statusCode == 429 || (500..<600).contains(response.statusCode)
                guard retryable else { throw failure }
                retryAfter = (response.value(forHTTPHeaderField: "Retry-After")).flatMap(Double.init)
            case .failure(.timedOut):
                failure = .timedOut(url: url, seconds: settings.timeoutSeconds, attempts: attempt)
                retryAfter = nil
            case let .failure(.other(error)):
                if error is CancellationError { throw error }
                throw DescriberError.transport(url: url, reason: error.localizedDescription)
            }
            guard attempt <= settings.maxRetries else { throw failure }
            var delay = min(settings.initialBackoffSeconds * pow(2, Double(attempt - 1)), settings.maxBackoffSeconds)
            if let retryAfter, retryAfter.isFinite { delay = max(delay, min(retryAfter, settings.maxBackoffSeconds)) }
            if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
        }
    }

    enum SendFailure: Error {
        case timedOut
        case other(Error)
    }

    /// One HTTP exchange with a hard deadline of `timeoutSeconds`.
    ///
    /// Neither the deadline nor the cancellation of the calling task cancels the data task: they resume the caller at
    /// once and leave the data task to finish or to hit the session's own timeout (`timeoutSeconds` + 5 s), its
    /// answer discarded. `URLSessionTask.cancel()` races with a task that is completing in swift-corelibs-foundation
    /// (Linux): the cancel looks the task up after the session has removed it and the process traps with "Trying to
    /// access a behaviour for a task that in not in the registry" (seen in a CI run of `JudgeCLITests`).
    func send(_ request: URLRequest) async -> Result<(Data, HTTPURLResponse), SendFailure> {
        let timeout = settings.timeoutSeconds
        let box = ResumeBox<Result<(Data, HTTPURLResponse), SendFailure>>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<(Data, HTTPURLResponse), SendFailure>, Never>) in
                guard box.install(continuation, ifCancelled: .failure(.other(CancellationError()))) else { return }
                let task = session.dataTask(with: request) { data, response, error in
                    if let error {
                        let nsError = error as NSError
                        if nsError.domain == NSURLErrorDomain && nsError.code == NSURLErrorTimedOut {
                            box.resume(.failure(.timedOut))
                        } else if nsError.domain == NSURLErrorDomain && nsError.code == NSURLErrorCancelled {
                            box.resume(.failure(.other(CancellationError())))
                        } else {
                            box.resume(.failure(.other(error)))
                        }
                    } else if let http = response as? HTTPURLResponse {
                        box.resume(.success((data ?? Data(), http)))
                    } else {
                        box.resume(.failure(.other(DescriberError.malformedResponse(
                            url: request.url?.absoluteString ?? "?", reason: "not an HTTP response"))))
                    }
                }
                task.resume()
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { box.resume(.failure(.timedOut)) }
            }
        } onCancel: {
            box.cancel(with: .failure(.other(CancellationError())))
        }
    }

    /// `choices[0].message.content` of a chat-completions response, trimmed.
    static func parseAnswer(_ data: Data, url: String) throws -> String {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw DescriberError.malformedResponse(url: url, reason: "body is not JSON: \(snippet(data))")
        }
        guard let object = json as? [String: Any] else {
            throw DescriberError.malformedResponse(url: url, reason: "body is not a JSON object")
        }
        if let error = object["error"] as? [String: Any] {
            throw DescriberError.malformedResponse(
                url: url, reason: "error object: \((error["message"] as? String) ?? "\(error)")")
        }
        guard let choices = object["choices"] as? [Any], let first = choices.first as? [String: Any] else {
            throw DescriberError.malformedResponse(url: url, reason: "no 'choices' array")
        }
        guard let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
            throw DescriberError.malformedResponse(url: url, reason: "no string 'choices[0].message.content'")
        }
        let answer = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !answer.isEmpty else { throw DescriberError.emptyDescription(url: url) }
        return answer
    }

    /// The first 200 characters of a body, for error messages.
    static func snippet(_ data: Data) -> String {
        let text = String(decoding: data.prefix(400), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}

/// Resumes a continuation exactly once, whichever comes first: the answer, the deadline or the caller's
/// cancellation (which may arrive before the continuation exists).
private final class ResumeBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Never>?
    private var cancelledValue: T?
    private var done = false

    /// Installs the continuation; if the caller was already cancelled, resumes it with `ifCancelled` and says
    /// false (nothing should be started).
    func install(_ c: CheckedContinuation<T, Never>, ifCancelled: T) -> Bool {
        let early: Bool = lock.withLock {
            if cancelledValue != nil { done = true; return true }
            continuation = c
            return false
        }
        if early { c.resume(returning: ifCancelled) }
        return !early
    }

    /// Resumes with `value` unless something else already did; says whether this call did it.
    @discardableResult
    func resume(_ value: T) -> Bool {
        let c: CheckedContinuation<T, Never>? = lock.withLock {
            guard !done, let c = continuation else { return nil }
            done = true
            continuation = nil
            return c
        }
        c?.resume(returning: value)
        return c != nil
    }

    /// The caller's cancellation: resumes now, or as soon as the continuation is installed.
    func cancel(with value: T) {
        let installed: Bool = lock.withLock {
            if continuation == nil && !done { cancelledValue = value; return false }
            return true
        }
        if installed { resume(value) }
    }
}

/// An async counting semaphore: at most `limit` holders at once; waiters are served first come, first served.
actor ConcurrencyLimiter {
    let limit: Int
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    func acquire() async {
        if running < limit {
            running += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }  // the releasing holder hands its slot over
    }

    func release() {
        if waiters.isEmpty {
            running -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
