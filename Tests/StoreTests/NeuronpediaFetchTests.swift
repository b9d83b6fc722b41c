import Foundation
import GRDB
import Testing
import TestSupport
@testable import Store

@Suite(.serialized) struct NeuronpediaFetchTests {
    let sae = SAEDescriptor(path: "/saes/gpt2-small-res-jb-8", dSAE: 24576, neuronpediaId: "gpt2-small/8-res-jb")

    func fetcher(_ server: TestHTTPServer, rate: Double = 1000, retries: Int = 3) -> NeuronpediaFetcher {
        NeuronpediaFetcher(baseURL: URL(string: server.baseURL)!, requestsPerSecond: rate, retries: retries, retryDelay: 0.01, timeout: 5)
    }

    @Test func fetchesCachesAndImports() async throws {
        let server = try TestHTTPServer.paths { path, _ in
            let index = path.split(separator: "/").last.map(String.init) ?? ""
            guard path.hasPrefix("/api/feature/gpt2-small/8-res-jb/") else { return (404, [:], Data("no".utf8)) }
            return (200, ["Content-Type": "application/json"], Data(NeuronpediaFixtures.featureJSON(index: index).utf8))
        }
        defer { server.stop() }
        let store = try StoreDatabase.inMemory()
        let (fetched, records) = try await fetcher(server).fetch(modelId: "gpt2-small", source: "8-res-jb", indices: [3, 42], store: store)
        #expect(fetched.map(\.index) == [3, 42])
        #expect(fetched.allSatisfy { !$0.fromCache })
        #expect(records.map(\.index) == [3, 42])
        #expect(server.requests.map(\.path) == ["/api/feature/gpt2-small/8-res-jb/3", "/api/feature/gpt2-small/8-res-jb/42"])
        let summary = try store.importNeuronpedia(records: records, sae: sae)
        #expect(try store.preferredExplanations(saeId: summary.saeId)[42]?.text == "références aux chats 🐱")

        // Second run: served from the cache, no request.
        let again = try await fetcher(server).fetch(modelId: "gpt2-small", source: "8-res-jb", indices: [42, 3], store: store)
        #expect(again.fetched.allSatisfy { $0.fromCache })
        #expect(server.requests.count == 2)
        #expect(try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM neuronpedia_cache") } == 2)
    }

    @Test func retriesServerErrorsAndRateLimits() async throws {
        let server = try TestHTTPServer.paths { path, attempt in
            if attempt == 1 { return (503, [:], Data("busy".utf8)) }
            if attempt == 2 { return (429, ["Retry-After": "0"], Data()) }
            let index = path.split(separator: "/").last.map(String.init) ?? ""
            return (200, [:], Data(NeuronpediaFixtures.featureJSON(index: index).utf8))
        }
        defer { server.stop() }
        let store = try StoreDatabase.inMemory()
        let rate = 10.0
        let (fetched, _) = try await fetcher(server, rate: rate).fetch(modelId: "gpt2-small", source: "8-res-jb", indices: [1, 2], store: store)
        #expect(fetched.count == 2)
        let times = server.requests.map(\.time)
        #expect(times.count == 6)  // 3 attempts per feature
        // 6 requests at ≤ 10/s span ≥ 0.5 s (without the limit, ~0.06 s of backoff); the margin absorbs the
        // server thread's scheduling delay on a loaded machine.
        #expect(times.last!.timeIntervalSince(times.first!) >= 5 / rate - 0.15, "requests must be spaced by the rate limit")
    }

    @Test func giveUpAfterRetriesWithAClearError() async throws {
        let server = try TestHTTPServer.paths { _, _ in (500, [:], Data("boom".utf8)) }
        defer { server.stop() }
        let store = try StoreDatabase.inMemory()
        do {
            _ = try await fetcher(server, retries: 2).fetch(modelId: "m", source: "s", indices: [0], store: store)
            Issue.record("HTTP 500 must fail after the retries")
        } catch {
            #expect(error.localizedDescription.contains("HTTP 500 after 3 attempts"))
        }
        #expect(server.requests.count == 3)
        // 404 is not retried.
        let missing = try TestHTTPServer.paths { _, _ in (404, [:], Data()) }
        defer { missing.stop() }
        do {
            _ = try await fetcher(missing).fetch(modelId: "m", source: "s", indices: [0], store: store)
            Issue.record("HTTP 404 must fail")
        } catch {
            #expect(error.localizedDescription.contains("HTTP 404"))
        }
        #expect(missing.requests.count == 1)
        #expect(try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM neuronpedia_cache") } == 0)
    }

    @Test func offlineIsAClearErrorAndTheCacheStillServes() async throws {
        let store = try StoreDatabase.inMemory()
        let server = try TestHTTPServer.paths { path, _ in
            (200, [:], Data(NeuronpediaFixtures.featureJSON(index: path.split(separator: "/").last.map(String.init) ?? "").utf8))
        }
        let online = NeuronpediaFetcher(baseURL: URL(string: server.baseURL)!, requestsPerSecond: 1000, retryDelay: 0.01)
        _ = try await online.fetch(modelId: "gpt2-small", source: "8-res-jb", indices: [5], store: store)
        server.stop()

        let port = TestHTTPServer.closedPort()
        let offline = NeuronpediaFetcher(baseURL: URL(string: "http://127.0.0.1:\(port)")!, requestsPerSecond: 1000,
                                         retries: 1, retryDelay: 0.01, timeout: 2)
        do {
            _ = try await offline.fetch(modelId: "gpt2-small", source: "8-res-jb", indices: [5, 6], store: store)
            Issue.record("fetching from a closed port must fail")
        } catch {
            let message = error.localizedDescription
            #expect(message.contains("offline"), "\(message)")
            #expect(message.contains("1 of 2 features were served from the cache"), "\(message)")
            #expect(message.contains("/api/feature/gpt2-small/8-res-jb/6"))
        }
    }

    @Test func featureListsParse() throws {
        #expect(try NeuronpediaFetcher.parseIndices("0,5, 10-12,5") == [0, 5, 10, 11, 12])
        #expect(throws: StoreError.self) { _ = try NeuronpediaFetcher.parseIndices("3-1") }
        #expect(throws: StoreError.self) { _ = try NeuronpediaFetcher.parseIndices("x") }
        #expect(throws: StoreError.self) { _ = try NeuronpediaFetcher.parseIndices("") }
    }
}
