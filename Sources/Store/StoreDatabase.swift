import Foundation
import GRDB

/// The semprog database: owns the GRDB writer (a `DatabasePool` for files, a `DatabaseQueue` in memory)
/// and migrates the schema when opened. The schema lives only in `StoreDatabase.migrator`.
///
/// A file whose `grdb_migrations` table names migrations this build does not know was written by a newer
/// semprog: opening it throws `StoreError.newerSchema` instead of touching it.
public final class StoreDatabase: Sendable {
    /// The GRDB writer; use `read`/`write` below or GRDB's API directly.
    public let writer: any DatabaseWriter
    /// The file path, or ":memory:".
    public let path: String

    /// Opens (creating if needed) and migrates the database file at `path`.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(30)
        do {
            writer = try DatabasePool(path: path, configuration: configuration)
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, reason: error.message ?? error.description)
        }
        try migrate()
    }

    private init(writer: any DatabaseWriter, path: String) throws {
        self.writer = writer
        self.path = path
        try migrate()
    }

    /// A fresh, migrated in-memory database (one per test).
    public static func inMemory() throws -> StoreDatabase {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        return try StoreDatabase(writer: DatabaseQueue(configuration: configuration), path: ":memory:")
    }

    private func migrate() throws {
        let migrator = Self.migrator
        do {
            let (superseded, unknown) = try writer.read { db -> (Bool, [String]) in
                guard try db.tableExists("grdb_migrations") else { return (false, []) }
                let applied = try migrator.appliedIdentifiers(db)
                let known = Set(migrator.migrations)
                return (try migrator.hasBeenSuperseded(db), applied.filter { !known.contains($0) }.sorted())
            }
            if superseded { throw StoreError.newerSchema(path: path, unknownMigrations: unknown) }
            try migrator.migrate(writer)
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, reason: error.message ?? error.description)
        }
    }

    /// Identifiers of the migrations this build knows, in order.
    public static var knownMigrations: [String] { migrator.migrations }

    /// Reads in a snapshot.
    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T { try writer.read(body) }

    /// Writes in one transaction (rolled back when `body` throws).
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T { try writer.write(body) }

    // MARK: - Schema

    /// The schema, one migration per change (never edit a released migration: add a new one).
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-core") { db in
            try db.execute(sql: """
                CREATE TABLE models (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    path TEXT NOT NULL,
                    sha256 TEXT NOT NULL DEFAULT '',
                    architecture TEXT NOT NULL DEFAULT '',
                    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
                );
                CREATE TABLE saes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    path TEXT NOT NULL,
                    sha256 TEXT NOT NULL DEFAULT '',
                    hook TEXT NOT NULL DEFAULT '',
                    d_in INTEGER NOT NULL DEFAULT 0,
                    d_sae INTEGER NOT NULL DEFAULT 0,
                    architecture TEXT NOT NULL DEFAULT '',
                    neuronpedia_id TEXT
                );
                CREATE TABLE features (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    sae_id INTEGER NOT NULL REFERENCES saes(id) ON DELETE CASCADE,
                    feature_index INTEGER NOT NULL,
                    max_activation REAL,
                    fraction_nonzero REAL,
                    top_contexts TEXT,
                    promoted_tokens TEXT,
                    UNIQUE(sae_id, feature_index)
                );
                CREATE TABLE explanations (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    feature_id INTEGER NOT NULL REFERENCES features(id) ON DELETE CASCADE,
                    source TEXT NOT NULL,
                    type_name TEXT,
                    model_name TEXT,
                    text TEXT NOT NULL,
                    is_preferred BOOLEAN NOT NULL DEFAULT 0
                );
                CREATE INDEX explanations_feature ON explanations(feature_id);
                CREATE TABLE prompts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    text TEXT NOT NULL UNIQUE
                );
                CREATE TABLE sweeps (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    model_id INTEGER REFERENCES models(id),
                    sae_id INTEGER REFERENCES saes(id),
                    magnitudes BLOB NOT NULL,
                    units TEXT NOT NULL,
                    method TEXT NOT NULL,
                    positions TEXT NOT NULL,
                    max_tokens INTEGER NOT NULL,
                    temperature REAL NOT NULL,
                    top_k INTEGER NOT NULL,
                    top_p REAL NOT NULL,
                    repetition_penalty REAL NOT NULL,
                    seed INTEGER NOT NULL,
                    chat BOOLEAN NOT NULL,
                    settings_json TEXT NOT NULL,
                    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
                );
                CREATE TABLE baselines (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    prompt_id INTEGER NOT NULL REFERENCES prompts(id),
                    text TEXT NOT NULL,
                    token_ids BLOB,
                    finish_reason TEXT,
                    UNIQUE(sweep_id, prompt_id)
                );
                CREATE TABLE generations (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    feature_index INTEGER NOT NULL,
                    prompt_id INTEGER NOT NULL REFERENCES prompts(id),
                    magnitude REAL NOT NULL,
                    text TEXT NOT NULL,
                    token_ids BLOB,
                    finish_reason TEXT,
                    activation_before REAL,
                    activation_after REAL,
                    batch_key TEXT,
                    UNIQUE(sweep_id, feature_index, prompt_id, magnitude)
                );
                CREATE TABLE descriptions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    generation_id INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
                    describer TEXT NOT NULL,
                    cache_key TEXT NOT NULL,
                    text TEXT NOT NULL,
                    UNIQUE(describer, cache_key, generation_id)
                );
                CREATE INDEX descriptions_generation ON descriptions(generation_id);
                """)
        }
        migrator.registerMigration("v1-analysis") { db in
            try db.execute(sql: """
                CREATE TABLE generation_metrics (
                    generation_id INTEGER PRIMARY KEY REFERENCES generations(id) ON DELETE CASCADE,
                    distinct1 REAL NOT NULL,
                    distinct2 REAL NOT NULL,
                    distinct3 REAL NOT NULL,
                    repeated_ngram_share REAL NOT NULL,
                    compression_ratio REAL NOT NULL,
                    nonword_share REAL NOT NULL,
                    perplexity REAL,
                    degradation_score REAL NOT NULL,
                    degraded BOOLEAN NOT NULL
                );
                CREATE TABLE text_embeddings (
                    model TEXT NOT NULL,
                    text_hash TEXT NOT NULL,
                    vector BLOB NOT NULL,
                    PRIMARY KEY(model, text_hash)
                );
                CREATE TABLE onsets (
                    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    feature_index INTEGER NOT NULL,
                    prompt_id INTEGER NOT NULL REFERENCES prompts(id),
                    onset_magnitude REAL,
                    robustness REAL
                );
                CREATE INDEX onsets_sweep ON onsets(sweep_id);
                CREATE TABLE stages (
                    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    feature_index INTEGER NOT NULL,
                    prompt_id INTEGER NOT NULL REFERENCES prompts(id),
                    stage_index INTEGER NOT NULL,
                    start_magnitude REAL NOT NULL,
                    end_magnitude REAL NOT NULL,
                    label TEXT NOT NULL,
                    example_text TEXT NOT NULL
                );
                CREATE INDEX stages_sweep ON stages(sweep_id);
                CREATE TABLE similarities (
                    generation_id INTEGER PRIMARY KEY REFERENCES generations(id) ON DELETE CASCADE,
                    description_cosine REAL,
                    output_cosine REAL
                );
                CREATE TABLE feature_summaries (
                    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    feature_index INTEGER NOT NULL,
                    stage_count REAL NOT NULL,
                    robustness REAL,
                    log10_density REAL,
                    sim_mean REAL,
                    sim_max REAL,
                    sim_peak_magnitude REAL,
                    stage_agreement_ari REAL,
                    explanation TEXT
                );
                CREATE INDEX feature_summaries_sweep ON feature_summaries(sweep_id);
                CREATE TABLE consistency (
                    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    feature_index INTEGER NOT NULL,
                    magnitude REAL NOT NULL,
                    mean_pairwise_cosine REAL NOT NULL,
                    baseline_cosine REAL NOT NULL,
                    adjusted REAL NOT NULL
                );
                CREATE INDEX consistency_sweep ON consistency(sweep_id);
                CREATE TABLE penalty_sensitivity (
                    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    penalty REAL NOT NULL,
                    mean_stage_count REAL NOT NULL
                );
                CREATE TABLE sweep_statistics (
                    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    value REAL,
                    detail TEXT,
                    UNIQUE(sweep_id, name)
                );
                """)
        }
        migrator.registerMigration("v1-neuronpedia-cache") { db in
            try db.execute(sql: """
                CREATE TABLE neuronpedia_cache (
                    key TEXT PRIMARY KEY,  -- "modelId/source/index": the same feature from any base URL
                    url TEXT NOT NULL,
                    body BLOB NOT NULL,
                    fetched_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
                );
                """)
        }
        return migrator
    }()
}
