import Foundation
import GRDB
import Units

/// What an import stored.
public struct FlatImportSummary: Sendable, Equatable {
    public var sweepName: String
    public var generations: Int
    public var baselines: Int
    public var prompts: Int
    public var features: Int
}

/// Importing and exporting the flat format (see `FlatFormat`).
extension StoreDatabase {
    /// Imports a CSV or JSONL file into the sweep `sweepName` (default: the file name without extension) in ONE
    /// transaction: on any error nothing is written. A new sweep gets `SweepSettings.imported`; importing into an
    /// existing sweep is allowed only when that sweep was itself imported, and adds its new cells (a cell that is
    /// already stored is a duplicate error).
    ///
    /// Units: `units` (`semprog import --units`) is the unit of rows without a `magnitude_unit`; every row of a
    /// sweep must be in one unit (else an error naming the file, row and column), and a sweep imported into
    /// again must keep it. With neither, the sweep's units stay `imported` (read as absolute activations) and
    /// the generations carry no unit, as before units could be named.
    @discardableResult
    public func importFlatFile(at path: String, sweepName: String? = nil, units: MagnitudeUnit? = nil) throws -> FlatImportSummary {
        guard let format = FlatFormat(path: path) else {
            throw StoreError.invalidArgument("\(path): unknown file type (expected .csv, .jsonl or .ndjson)")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw StoreError.unreadable(file: path, reason: error.localizedDescription)
        }
        let parsed = try FlatFile.parse(data, format: format, file: path)
        let name = sweepName ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try importFlat(parsed, sweepName: name, file: path, units: units)
    }

    /// Imports already parsed rows (see `importFlatFile`). `file` names the source in errors.
    public func importFlat(_ parsed: FlatFile.Parsed, sweepName: String, file: String,
                           units: MagnitudeUnit? = nil) throws -> FlatImportSummary {
        let positions = parsed.positions
        // One unit per sweep: the rows' magnitude_unit, else --units.
        var unit = units, unitAt: InputPosition? = nil
        for (row, position) in zip(parsed.rows, positions) {
            guard let u = row.magnitudeUnit else { continue }
            if let unit, unit != u {
                let source = unitAt.map { "the unit at \($0)" } ?? "--units \(unit.rawValue)"
                throw StoreError.badInput(file: file, at: position, column: FlatColumn.magnitudeUnit.rawValue,
                                          message: "'\(u.rawValue)' differs from \(source): a sweep's magnitudes are in one unit")
            }
            if unit == nil || unitAt == nil { unitAt = position }
            unit = u
        }
        let rows = parsed.rows.map { row -> FlatRow in var r = row; r.magnitudeUnit = unit; return r }
        let sweepUnits = unit?.rawValue ?? "imported", firstUnitAt = unitAt
        // Values that must agree across rows.
        func single(_ column: FlatColumn, _ value: (FlatRow) -> String?) throws -> String? {
            var found: String?
            for (row, position) in zip(rows, positions) {
                guard let v = value(row) else { continue }
                if let found, found != v {
                    throw StoreError.badInput(file: file, at: position, column: column.rawValue,
                                              message: "a file holds one \(column.rawValue); found \(FlatFile.preview(v)) after \(FlatFile.preview(found))")
                }
                found = v
            }
            return found
        }
        let model = try single(.model, \.model)
        let sae = try single(.sae, \.sae)
        var baselineOf: [String: (String, InputPosition)] = [:]
        struct FeatureData { var explanation: String?; var fraction: Double?; var maxActivation: Double? }
        var featureData: [Int: FeatureData] = [:]
        var featureOrder: [Int] = []
        for (row, position) in zip(rows, positions) {
            if let b = row.baseline {
                if let (first, at) = baselineOf[row.prompt], first != b {
                    throw StoreError.badInput(file: file, at: position, column: "baseline",
                                              message: "differs from the baseline of the same prompt at \(at)")
                }
                baselineOf[row.prompt] = (b, position)
            }
            var data = featureData[row.feature] ?? FeatureData()
            if featureData[row.feature] == nil { featureOrder.append(row.feature) }
            func merge<T: Equatable>(_ value: T?, _ into: inout T?, _ column: FlatColumn) throws {
                guard let value else { return }
                if let existing = into, existing != value {
                    throw StoreError.badInput(file: file, at: position, column: column.rawValue,
                                              message: "differs from an earlier row of feature \(row.feature)")
                }
                into = value
            }
            try merge(row.explanation, &data.explanation, .explanation)
            try merge(row.fractionNonzero, &data.fraction, .fractionNonzero)
            try merge(row.maxActivation, &data.maxActivation, .maxActivation)
            featureData[row.feature] = data
        }
        let needsSAE = featureData.values.contains { $0.explanation != nil || $0.fraction != nil || $0.maxActivation != nil }
        let fileMagnitudes = Set(rows.map(\.magnitude))
        let (baselineOfPrompt, featureValues, featureIndices) = (baselineOf, featureData, featureOrder)

        return try write { db in
            var sweep: SweepRecord
            if var existing = try SweepRecord.filter(Column("name") == sweepName).fetchOne(db) {
                let stored = try existing.settings()
                guard stored.method == "imported" else {
                    throw StoreError.invalidArgument("sweep '\(sweepName)' was made by 'semprog sweep', not imported; import into another sweep name (--sweep)")
                }
                if let model, stored.model != model {
                    throw StoreError.badInput(file: file, at: positions.first, column: "model",
                                              message: "sweep '\(sweepName)' holds model \(stored.model.map(FlatFile.preview) ?? "none"), the file \(FlatFile.preview(model))")
                }
                if stored.units != sweepUnits {
                    throw StoreError.badInput(file: file, at: firstUnitAt ?? positions.first, column: FlatColumn.magnitudeUnit.rawValue,
                                              message: "sweep '\(sweepName)' holds magnitudes in '\(stored.units)', the file in '\(sweepUnits)' (use --units or another --sweep)")
                }
                if let sae, stored.sae != sae {
                    throw StoreError.badInput(file: file, at: positions.first, column: "sae",
                                              message: "sweep '\(sweepName)' holds SAE \(stored.sae.map(FlatFile.preview) ?? "none"), the file \(FlatFile.preview(sae))")
                }
                var settings = stored
                settings.magnitudes = Array(Set(stored.magnitudes).union(fileMagnitudes)).sorted()
                try Self.updateSettings(db, sweep: &existing, settings: settings)
                sweep = existing
            } else {
                var settings = SweepSettings.imported(magnitudes: Array(fileMagnitudes).sorted(),
                                                      model: model, sae: sae)
                settings.units = sweepUnits
                let modelId = try model.map { try Self.registerModel(db, path: $0) }
                let saeId = try sae.map { try Self.registerSAE(db, SAERecord(path: $0)) }
                sweep = try Self.createOrValidateSweep(db, name: sweepName, settings: settings, modelId: modelId, saeId: saeId)
            }
            let sweepId = sweep.id!
            if needsSAE && sweep.saeId == nil {
                // Feature data without an SAE name: an anonymous SAE owned by this sweep (path "", not exported).
                var anonymous = SAERecord(path: "", hook: "import:\(sweepName)", architecture: "imported")
                try anonymous.insert(db)
                sweep.saeId = anonymous.id
                try sweep.update(db)
            }

            // Prompts in order of first appearance.
            var promptOrder: [String] = [], promptSeen = Set<String>()
            for row in rows where promptSeen.insert(row.prompt).inserted { promptOrder.append(row.prompt) }
            let ids = try Self.promptIds(db, for: promptOrder)
            let promptId = Dictionary(uniqueKeysWithValues: zip(promptOrder, ids))

            // Baselines: a stored one must agree.
            var baselines = 0
            for prompt in promptOrder {
                guard let (text, position) = baselineOfPrompt[prompt] else { continue }
                if let stored = try String.fetchOne(db, sql: "SELECT text FROM baselines WHERE sweep_id = ? AND prompt_id = ?",
                                                    arguments: [sweepId, promptId[prompt]!]) {
                    if stored != text {
                        throw StoreError.badInput(file: file, at: position, column: "baseline",
                                                  message: "differs from the baseline already stored for this prompt in sweep '\(sweepName)'")
                    }
                    continue
                }
                _ = try BaselineRecord(sweepId: sweepId, promptId: promptId[prompt]!, text: text).inserted(db)
                baselines += 1
            }

            // Generations (+ descriptions); a stored cell is a duplicate.
            let insert = try db.cachedStatement(sql: """
                INSERT INTO generations (sweep_id, feature_index, prompt_id, magnitude, magnitude_unit, absolute_target, text)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sweep_id, feature_index, prompt_id, magnitude) DO NOTHING
                """)
            let describe = try db.cachedStatement(sql: """
                INSERT INTO descriptions (generation_id, describer, cache_key, text) VALUES (?, 'import', '', ?)
                """)
            for (row, position) in zip(rows, positions) {
                try insert.execute(arguments: [sweepId, row.feature, promptId[row.prompt]!, row.magnitude,
                                               row.magnitudeUnit, row.absoluteTarget, row.output])
                if db.changesCount == 0 {
                    throw StoreError.badInput(file: file, at: position, column: "magnitude",
                                              message: "(feature, prompt, magnitude) = (\(row.feature), \(FlatFile.preview(row.prompt)), \(FlatFile.format(row.magnitude))) is already stored in sweep '\(sweepName)'")
                }
                if let d = row.description { try describe.execute(arguments: [db.lastInsertedRowID, d]) }
            }

            // Feature statistics and explanations.
            var features = 0
            if let saeId = sweep.saeId {
                for index in featureIndices {
                    let data = featureValues[index]!
                    guard data.explanation != nil || data.fraction != nil || data.maxActivation != nil else { continue }
                    let featureId = try Self.featureId(db, saeId: saeId, featureIndex: index)
                    features += 1
                    if let f = data.fraction {
                        try db.execute(sql: "UPDATE features SET fraction_nonzero = ? WHERE id = ?", arguments: [f, featureId])
                    }
                    if let m = data.maxActivation {
                        try db.execute(sql: "UPDATE features SET max_activation = ? WHERE id = ?", arguments: [m, featureId])
                    }
                    if let text = data.explanation {
                        let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM explanations WHERE feature_id = ? AND text = ?)",
                                                       arguments: [featureId, text]) ?? false
                        if !exists {
                            let hasPreferred = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM explanations WHERE feature_id = ? AND is_preferred)",
                                                                 arguments: [featureId]) ?? false
                            _ = try ExplanationRecord(featureId: featureId, source: "import", text: text, isPreferred: !hasPreferred).inserted(db)
                        }
                    }
                }
            }
            return FlatImportSummary(sweepName: sweepName, generations: rows.count, baselines: baselines,
                                     prompts: promptOrder.count, features: features)
        }
    }

    /// The rows of a sweep in the flat format, ordered by feature, prompt id and magnitude, and the optional
    /// columns that hold at least one value. Descriptions: describer `import` first, else the latest one.
    /// Explanations: the preferred one, else the first stored.
    public func exportFlat(sweepName: String?) throws -> (rows: [FlatRow], optionalColumns: [FlatColumn]) {
        let sweep = try resolveSweep(sweepName)
        return try read { db in
            let prompts = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: """
                SELECT id, text FROM prompts WHERE id IN (SELECT prompt_id FROM generations WHERE sweep_id = ?)
                """, arguments: [sweep.id!]).map { ($0[0] as Int64, $0[1] as String) })
            let baselines = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT prompt_id, text FROM baselines WHERE sweep_id = ?",
                                                                              arguments: [sweep.id!]).map { ($0[0] as Int64, $0[1] as String) })
            var descriptions: [Int64: String] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT d.generation_id, d.text FROM descriptions d JOIN generations g ON g.id = d.generation_id
                WHERE g.sweep_id = ? ORDER BY (d.describer = 'import'), d.id
                """, arguments: [sweep.id!]) {
                descriptions[row[0]] = row[1]  // the last one wins: 'import' rows sort last
            }
            let model = try sweep.modelId.flatMap { try String.fetchOne(db, sql: "SELECT path FROM models WHERE id = ?", arguments: [$0]) }
            var sae: String?
            var features: [Int: (explanation: String?, fraction: Double?, maxActivation: Double?)] = [:]
            if let saeId = sweep.saeId {
                if let path = try String.fetchOne(db, sql: "SELECT path FROM saes WHERE id = ?", arguments: [saeId]), !path.isEmpty { sae = path }
                for row in try Row.fetchAll(db, sql: """
                    SELECT f.feature_index, f.fraction_nonzero, f.max_activation,
                        (SELECT e.text FROM explanations e WHERE e.feature_id = f.id ORDER BY e.is_preferred DESC, e.id LIMIT 1)
                    FROM features f WHERE f.sae_id = ?
                    """, arguments: [saeId]) {
                    features[row[0]] = (row[3], row[1], row[2])
                }
            }
            let generations = try GenerationRecord.filter(Column("sweep_id") == sweep.id!)
                .order(Column("feature_index"), Column("prompt_id"), Column("magnitude")).fetchAll(db)
            let rows = generations.map { g in
                let f = features[g.featureIndex]
                return FlatRow(feature: g.featureIndex, prompt: prompts[g.promptId] ?? "", magnitude: g.magnitude,
                               magnitudeUnit: g.magnitudeUnit, absoluteTarget: g.absoluteTarget, output: g.text,
                               baseline: baselines[g.promptId].flatMap { $0.isEmpty ? nil : $0 },
                               description: descriptions[g.id!].flatMap { $0.isEmpty ? nil : $0 },
                               explanation: f?.explanation.flatMap { $0.isEmpty ? nil : $0 },
                               fractionNonzero: f?.fraction, maxActivation: f?.maxActivation, model: model, sae: sae)
            }
            let optional = FlatColumn.allCases.filter { !FlatColumn.required.contains($0) }.filter { column in
                rows.contains { $0.text(column) != nil }
            }
            return (rows, optional)
        }
    }

    /// Exports a sweep as flat-format bytes.
    public func exportFlatFile(sweepName: String?, format: FlatFormat) throws -> Data {
        let (rows, optional) = try exportFlat(sweepName: sweepName)
        return FlatFile.write(rows, optionalColumns: optional, format: format)
    }
}
