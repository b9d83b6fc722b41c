import Randomness

/// One steered generation of a sweep: a feature, a prompt and a magnitude (indices into the settings' lists).
public struct PlannedCell: Hashable, Sendable, Comparable {
    public var feature: Int
    public var promptIndex: Int
    public var magnitudeIndex: Int

    public init(feature: Int, promptIndex: Int, magnitudeIndex: Int) {
        self.feature = feature; self.promptIndex = promptIndex; self.magnitudeIndex = magnitudeIndex
    }

    public static func < (a: PlannedCell, b: PlannedCell) -> Bool {
        (a.promptIndex, a.feature, a.magnitudeIndex) < (b.promptIndex, b.feature, b.magnitudeIndex)
    }
}

/// A unit of work decoded together and committed in one transaction: either the baselines of some prompts,
/// or steered cells of one prompt.
public struct SweepBatch: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case baselines(promptIndices: [Int])
        case steered(cells: [PlannedCell])
    }
    /// Position of the batch in the full plan (stable across reruns and shards).
    public var ordinal: Int
    public var kind: Kind

    public var size: Int {
        switch kind {
        case let .baselines(p): p.count
        case let .steered(c): c.count
        }
    }
}

/// `--shard i/n`: this process runs the batches whose ordinal ≡ i (mod n). 0-based i.
public struct Shard: Sendable, Equatable {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, index >= 0, index < count else {
            throw SweepError.invalidShard("shard \(index)/\(count) is out of range (need 0 ≤ i < n)")
        }
        self.index = index; self.count = count
    }

    /// Parses "i/n".
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw SweepError.invalidShard("'\(text)' is not i/n")
        }
        try self.init(index: i, count: n)
    }

    public func contains(_ batch: SweepBatch) -> Bool { batch.ordinal % count == index }
}

/// The deterministic plan of a sweep: which sequences are decoded together, and each one's seed.
///
/// Baselines come first (prompts in chunks of `batchSize`), then, for each prompt in order, its
/// (feature, magnitude) cells in feature-then-magnitude order, chunked into batches of `batchSize`. The plan
/// depends only on the settings, so a resumed or sharded run decodes exactly the same batches.
public struct SweepPlan: Sendable {
    public let settings: SweepConfiguration
    public let batches: [SweepBatch]

    public init(settings: SweepConfiguration) {
        self.settings = settings
        let size = max(1, settings.batchSize)
        var batches: [SweepBatch] = []
        let prompts = Array(settings.prompts.indices)
        for start in stride(from: 0, to: prompts.count, by: size) {
            batches.append(SweepBatch(ordinal: batches.count,
                                      kind: .baselines(promptIndices: Array(prompts[start..<min(start + size, prompts.count)]))))
        }
        for p in prompts {
            var cells: [PlannedCell] = []
            for f in settings.features {
                for m in settings.magnitudes.indices { cells.append(PlannedCell(feature: f, promptIndex: p, magnitudeIndex: m)) }
            }
            for start in stride(from: 0, to: cells.count, by: size) {
                batches.append(SweepBatch(ordinal: batches.count, kind: .steered(cells: Array(cells[start..<min(start + size, cells.count)]))))
            }
        }
        self.batches = batches
    }

    public var cellCount: Int { settings.features.count * settings.prompts.count * settings.magnitudes.count }

    /// The seed of one steered cell: a SplitMix64 hash of the sweep seed and the cell's coordinates, so each
    /// cell's sampling is independent of batching, sharding and order.
    public func seed(for cell: PlannedCell) -> UInt64 {
        Self.mix(settings.seed, UInt64(cell.feature), UInt64(cell.promptIndex) &+ 1, UInt64(cell.magnitudeIndex) &+ 1)
    }

    /// The seed of a prompt's baseline.
    public func baselineSeed(promptIndex: Int) -> UInt64 {
        Self.mix(settings.seed, UInt64.max, UInt64(promptIndex) &+ 1, 0)
    }

    static func mix(_ values: UInt64...) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for v in values {
            h ^= v &+ 0x9E37_79B9_7F4A_7C15 &+ (h << 6) &+ (h >> 2)
            var z = h
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            h = z ^ (z >> 31)
        }
        return h
    }
}
