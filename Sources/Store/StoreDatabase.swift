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

    /// How a command uses the database file.
    public enum Access: Sendable {
        /// Open (creating the file if needed) and migrate: for commands that write.
        case readWrite
        /// Open an existing file without writing anything to it (no migration, no journal files created where
        /// the file's folder is not writable): for commands that only read (`export`, `report`, `stats`, merge
        /// inputs). A file that does not exist, or whose schema is older than this build's, is refused by name.
        case readOnly
    }

    /// Opens the database file at `path`: `.readWrite` creates it if needed and migrates it; `.readOnly` opens an
    /// existing, current file and never writes to it.
    public init(path: String, access: Access = .readWrite) throws {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(30)
        switch access {
        case .readWrite:
            let existed = FileManager.default.fileExists(atPath: path)
            do {
                writer = try DatabasePool(path: path, configuration: configuration)
                if !existed { CreatedFiles.shared.insert(path) }
            } catch let error as DatabaseError {
                throw StoreError.cannotOpen(path: path, reason: error.message ?? error.description)
            }
            try migrate()
        case .readOnly:
            guard FileManager.default.fileExists(atPath: path) else { throw StoreError.noDatabase(path: path) }
            configuration.readonly = true
            writer = try Self.openReadOnly(path: path, configuration: configuration)
            try checkSchemaIsCurrent()
        }
    }

    /// A read-only connection. A WAL-mode file needs its `-shm` index, which SQLite cannot create in a folder the
    /// user may not write to ("attempt to write a readonly database"); such a file is then opened as immutable
    /// (SQLite's `immutable=1` URI parameter: no locks, no index), which is right for a file nobody may write
    /// while we read it, the case here.
    private static func openReadOnly(path: String, configuration: Configuration) throws -> DatabaseQueue {
        func attempt(_ location: String) throws -> DatabaseQueue {
            let queue = try DatabaseQueue(path: location, configuration: configuration)
            _ = try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") }
            return queue
        }
        do {
            return try attempt(path)
        } catch let first as DatabaseError {
            guard first.resultCode == .SQLITE_READONLY || first.resultCode == .SQLITE_CANTOPEN else {
                throw StoreError.cannotOpen(path: path, reason: first.message ?? first.description)
            }
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            var allowed = CharacterSet.urlPathAllowed
            allowed.remove(charactersIn: "?#%")
            let encoded = absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute
            do {
                return try attempt("file:\(encoded)?immutable=1")
            } catch let error as DatabaseError {
                throw StoreError.cannotOpen(path: path, reason: error.message ?? error.description)
            }
        }
    }

    /// For a read-only open: the file's applied migrations must be exactly this build's (a newer file is refused
    /// as `newerSchema`, an older one as `olderSchema`, since it cannot be migrated without writing).
    private func checkSchemaIsCurrent() throws {
        let migrator = Self.migrator
        do {
            let (superseded, unknown, complete) = try writer.read { db -> (Bool, [String], Bool) in
                guard try db.tableExists("grdb_migrations") else { return (false, [], false) }
                let applied = try migrator.appliedIdentifiers(db)
                let known = Set(migrator.migrations)
                return (try migrator.hasBeenSuperseded(db), applied.filter { !known.contains($0) }.sorted(),
                        try migrator.hasCompletedMigrations(db))
            }
            if superseded { throw StoreError.newerSchema(path: path, unknownMigrations: unknown) }
            if !complete { throw StoreError.olderSchema(path: path) }
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, reason: error.message ?? error.description)
        }
    }

    /// Removes every database file this process created (with its `-wal`/`-shm` files) that holds no row of any
    /// table but the migration bookkeeping: a command that failed must not leave an empty database behind. Files
    /// the process did not create, and files with any data, are never touched. Called by the CLI when a command
    /// fails, after the command's own connections are closed.
    public static func removeEmptyDatabasesCreatedByThisProcess() {
        removeEmptyDatabases(at: CreatedFiles.shared.drain())
    }

    /// Removes each of `paths` (with its `-wal`/`-shm` files) that holds no data.
    static func removeEmptyDatabases(at paths: [String]) {
        for path in paths {
            guard let isEmpty = try? Self.holdsNoData(path: path), isEmpty else { continue }
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
    }

    private static func holdsNoData(path: String) throws -> Bool {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            let tables = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table'
                AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'
                """)
            for table in tables where try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM \(table.quotedDatabaseIdentifier))") == true {
                return false
            }
            return true
        }
    }

    /// Paths of database files this process created (see `removeEmptyDatabasesCreatedByThisProcess`).
    final class CreatedFiles: @unchecked Sendable {
        static let shared = CreatedFiles()
        private let lock = NSLock()
        private var paths: [String] = []
        func insert(_ path: String) { lock.withLock { paths.append(path) } }
        func drain() -> [String] { lock.withLock { defer { paths = [] }; return paths } }
        func contains(_ path: String) -> Bool { lock.withLock { paths.contains(path) } }
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
        migrator.registerMigration("v2-feature-scores") { db in
            try db.execute(sql: """
                CREATE TABLE feature_scores (
                    feature_id INTEGER PRIMARY KEY REFERENCES features(id) ON DELETE CASCADE,
                    output_score REAL NOT NULL,     -- Arad et al. (2025): rank score × top probability, [0, 1]
                    input_score REAL,               -- share of top contexts peaking on a logit-lens token
                    logit_lens_tokens BLOB NOT NULL, -- int32 ids, best first
                    settings TEXT NOT NULL          -- JSON: neutral prompt, factor, k, model sha256
                );
                """)
        }
        migrator.registerMigration("v3-sae-source") { db in
            // The release format and release each SAE was read as, so reports can name them.
            try db.execute(sql: """
                ALTER TABLE saes ADD COLUMN format TEXT NOT NULL DEFAULT '';
                ALTER TABLE saes ADD COLUMN release TEXT;
                """)
        }
        StoreDatabase.registerSteeringScoresMigration(&migrator)
        migrator.registerMigration("v4-generation-magnitudes") { db in
            // Per generation, the requested magnitude's unit and the absolute target the edit applied (NULL for
            // scale, and for rows stored before: their target was not recorded). Older rows take their sweep's
            // unit; rows of sweeps imported without one ('imported', read as absolute) keep none, as new ones do.
            try db.execute(sql: """
                ALTER TABLE generations ADD COLUMN magnitude_unit TEXT;
                ALTER TABLE generations ADD COLUMN absolute_target REAL;
                UPDATE generations SET magnitude_unit = (
                    SELECT CASE lower(s.units)
                        WHEN 'absolute' THEN 'absolute'
                        WHEN 'max-activation' THEN 'max-activation' WHEN 'max_activation' THEN 'max-activation'
                        WHEN 'max_activations' THEN 'max-activation' WHEN 'maxactivation' THEN 'max-activation'
                        WHEN 'factor' THEN 'factor'
                        ELSE NULL END
                    FROM sweeps s WHERE s.id = generations.sweep_id);
                """)
        }
        return migrator
    }()
}
