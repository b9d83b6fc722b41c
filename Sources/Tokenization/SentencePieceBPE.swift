import Foundation

/// The SentencePiece-specific part of a `BPETokenizer` (Gemma's tokenizer; llama.cpp's `llm_tokenizer_spm`,
/// Hugging Face tokenizers' BPE with `byte_fallback`).
struct SentencePieceBPE: Sendable {
    /// Per-token scores (merge priority, higher first) when the tokenizer has no merge list (GGUF).
    let scores: [Float]?
    /// byte → id of its `<0xXX>` token (−1 when absent).
    let byteFallback: [Int32]
    let unknownID: Int?
    let addSpacePrefix: Bool

    static let space: [UInt8] = Array("\u{2581}".utf8)

    /// Token ids of one stretch of text without special tokens.
    func encode(_ bytes: ArraySlice<UInt8>, tokenizer t: BPETokenizer, atStart: Bool) -> [Int] {
        // Normalise: " " → "▁" (and a leading "▁" at the start of the text when addSpacePrefix).
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count + 8)
        if addSpacePrefix && atStart { text.append(contentsOf: Self.space) }
        for b in bytes { if b == 0x20 { text.append(contentsOf: Self.space) } else { text.append(b) } }
        if text.isEmpty { return [] }
        // Symbols: UTF-8 characters, as (start, length, id or −1 when the character has no token).
        var start: [Int] = [], length: [Int] = [], ids: [Int32] = []
        var i = 0
        while i < text.count {
            let lead = text[i]
            let n = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
            let len = min(n, text.count - i)
            start.append(i); length.append(len)
            ids.append(Int32(t.vocabulary[String(decoding: text[i..<(i + len)], as: UTF8.self)] ?? -1))
            i += len
        }
        // Priority of merging pair (k, k+1): higher is first; nil when it does not merge.
        func priority(_ k: Int) -> (value: Double, id: Int32)? {
            let l = ids[k], r = ids[k + 1]
            guard l >= 0, r >= 0 else { return nil }
            if let scores {
                let merged = String(decoding: text[start[k]..<(start[k + 1] + length[k + 1])], as: UTF8.self)
                guard let id = t.vocabulary[merged] else { return nil }
                return (Double(scores[id]), Int32(id))
            }
            guard let m = t.merges[UInt64(l) << 32 | UInt64(r)] else { return nil }
            return (-Double(m.rank), m.id)
        }
        var pairs = (0..<max(0, ids.count - 1)).map(priority)
        while true {
            var best = -1
            var bestValue = -Double.infinity
            for (k, p) in pairs.enumerated() { if let p, p.value > bestValue { bestValue = p.value; best = k } }
            if best < 0 { break }
            ids[best] = pairs[best]!.id
            length[best] += length[best + 1]
            ids.remove(at: best + 1); start.remove(at: best + 1); length.remove(at: best + 1)
            pairs.remove(at: best)
            if best < pairs.count { pairs[best] = priority(best) }
            if best > 0 { pairs[best - 1] = priority(best - 1) }
        }
        var out: [Int] = []
        out.reserveCapacity(ids.count)
        for (k, id) in ids.enumerated() {
            if id >= 0 { out.append(Int(id)); continue }
            for b in text[start[k]..<(start[k] + length[k])] {
                let f = byteFallback[Int(b)]
                if f >= 0 { out.append(Int(f)) } else if let unknownID { out.append(unknownID) }
            }
        }
        return out
    }
}
