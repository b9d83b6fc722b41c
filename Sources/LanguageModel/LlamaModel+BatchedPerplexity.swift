import Foundation

extension LlamaModel {
    /// Perplexities of several continuations, each under its own context, with many sequences per forward pass:
    /// the same quantity as `perplexity(context:continuation:)` for each item, exp(−(1/n) Σₜ log p(cₜ | context,
    /// c₍<t₎)) over the n continuation tokens (teacher forcing, natural log, log-softmax in Double), but the rows
    /// of consecutive items are packed into one `forward` call of up to `maxPrefillRows` rows (an item longer than
    /// that runs alone, in chunks). Each output's summation order is fixed, so the values do not depend on how the
    /// items are packed or on the thread count.
    ///
    /// - Throws: `LanguageModelError.invalidArgument` for an empty context or continuation,
    ///   `.tokenOutOfRange` for an id outside the vocabulary, `.contextTooLong` when an item exceeds the context.
    public func perplexities(_ items: [(context: [Int], continuation: [Int])]) throws -> [Double] {
        for item in items {
            guard !item.context.isEmpty else { throw LanguageModelError.invalidArgument(argument: "context", reason: "must hold at least one token") }
            guard !item.continuation.isEmpty else { throw LanguageModelError.invalidArgument(argument: "continuation", reason: "must hold at least one token") }
            let tokens = item.context + item.continuation
            try validate(tokens: tokens, argument: "context + continuation")
            guard tokens.count <= ropeTableLength else { throw LanguageModelError.contextTooLong(tokens: tokens.count, contextLength: ropeTableLength) }
        }
        let limit = max(1, maxPrefillRows)
        var results = [Double](repeating: .nan, count: items.count)
        var first = 0
        while first < items.count {
            // Pack items first..<last into one pass (at least one item).
            var last = first, rowsInPass = 0
            while last < items.count {
                let n = items[last].context.count + items[last].continuation.count
                if last > first && rowsInPass + n > limit { break }
                rowsInPass += n; last += 1
            }
            if last - first == 1 {
                let item = items[first]
                results[first] = try perplexity(context: item.context, continuation: item.continuation)
                first = last
                continue
            }
            var rows: [StepRow] = []
            var caches: [KVCache] = []
            var logitRows: [Int] = [], targets: [(item: Int, token: Int)] = []
            for (s, i) in (first..<last).enumerated() {
                let tokens = items[i].context + items[i].continuation
                caches.append(KVCache(configuration: configuration, capacity: tokens.count))
                for (position, token) in tokens.enumerated() {
                    if position >= items[i].context.count - 1 && position < tokens.count - 1 {
                        logitRows.append(rows.count); targets.append((i, tokens[position + 1]))
                    }
                    rows.append(StepRow(sequence: s, position: position, token: token, isPrompt: true))
                }
            }
            let logits = forward(rows: rows, caches: caches, hook: nil, captureLayer: nil, logitRows: logitRows).logits
            let v = configuration.vocabularySize
            var nll = [Double](repeating: 0, count: last - first)
            for (k, target) in targets.enumerated() {
                var m = -Double.infinity
                for j in 0..<v { m = max(m, Double(logits[k * v + j])) }
                var sum = 0.0
                for j in 0..<v { sum += Foundation.exp(Double(logits[k * v + j]) - m) }
                nll[target.item - first] += -(Double(logits[k * v + target.token]) - m - Foundation.log(sum))
            }
            for i in first..<last { results[i] = Foundation.exp(nll[i - first] / Double(items[i].continuation.count)) }
            first = last
        }
        return results
    }
}
