import Foundation
import GRDB
import Testing
import Units
@testable import Store

/// Per generation: the requested magnitude (value + unit) and the absolute target applied (migration
/// `v4-generation-magnitudes`), the flat format's `magnitude_unit`/`absolute_target`, and `import --units`.
@Suite struct GenerationMagnitudeTests {
    /// A database made by the previous schema (every migration before v4) opens with this build: older rows take
    /// their sweep's unit, have no recorded target, and read and export as written.
    @Test func olderDatabaseIsMigratedAndReadable() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let path = dir.path("v3.sqlite")
        let known = StoreDatabase.knownMigrations
        #expect(known.last == "v4-generation-magnitudes")
        let previous = known[known.count - 2]
        do {
            let queue = try DatabaseQueue(path: path)
            try StoreDatabase.migrator.migrate(queue, upTo: previous)
            try queue.write { db in
                #expect(try !db.columns(in: "generations").contains { $0.name == "magnitude_unit" })
                // Two sweeps as earlier versions stored them: a 'semprog sweep' in max-activation units and an import.
                for (id, name, units) in [(1, "made", "max-activation"), (2, "imported", "imported")] {
                    try db.execute(sql: """
                        INSERT INTO sweeps (id, name, magnitudes, units, method, positions, max_tokens, temperature, top_k,
                            top_p, repetition_penalty, seed, chat, settings_json)
                        VALUES (?, ?, x'', ?, 'clamp', 'all', 8, 0, 0, 1, 1, 0, 0, '{}')
                        """, arguments: [id, name, units])
                }
                try db.execute(sql: "INSERT INTO prompts (id, text) VALUES (1, 'p')")
                try db.execute(sql: """
                    INSERT INTO generations (sweep_id, feature_index, prompt_id, magnitude, text) VALUES
                        (1, 4, 1, 0.1, 'a'), (1, 4, 1, 2.5, 'b'), (2, 4, 1, 3, 'c')
                    """)
            }
        }
        let store = try StoreDatabase(path: path)
        #expect(try store.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }.last
                == "v4-generation-magnitudes")
        let made = try store.generations(sweepId: 1)
        #expect(made.map(\.magnitude) == [0.1, 2.5])
        #expect(made.map(\.requested) == [Magnitude(0.1, .maxActivation), Magnitude(2.5, .maxActivation)])
        #expect(made.allSatisfy { $0.absoluteTarget == nil }, "older rows did not record their target")
        let imported = try store.generations(sweepId: 2)
        #expect(imported.map(\.magnitudeUnit) == [nil], "an import that named no unit keeps none")
        #expect(try store.sweep(named: "imported")?.magnitudeUnit == .absolute, "imported magnitudes read as absolute")
        #expect(try store.sweep(named: "made")?.magnitudeUnit == .maxActivation)
        // Export prints magnitudes as written, with the unit the rows took.
        let csv = String(decoding: try store.exportFlatFile(sweepName: "made", format: .csv), as: UTF8.self)
        #expect(csv == "feature,prompt,magnitude,output,magnitude_unit\r\n4,p,0.1,a,max-activation\r\n4,p,2.5,b,max-activation\r\n")
        // A new row stores both.
        try store.insertBatch(generations: [GenerationRecord(sweepId: 1, featureIndex: 4, promptId: 1, magnitude: 0.5,
                                                             magnitudeUnit: .maxActivation, absoluteTarget: 20, text: "d")])
        #expect(try store.generations(sweepId: 1).first { $0.magnitude == 0.5 }?.absoluteTarget == 20)
    }

    @Test func importWithUnitsStoresThemAndExportsThemAsWritten() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let input = try dir.write("u.csv", "feature,prompt,magnitude,output,max_activation\n1,p,0.1,x,40\n1,p,0.3,y,40\n")
        let store = try StoreDatabase.inMemory()
        try store.importFlatFile(at: input, sweepName: "s", units: .maxActivation)
        let sweep = try #require(try store.sweep(named: "s"))
        #expect(sweep.units == "max-activation" && sweep.magnitudeUnit == .maxActivation)
        #expect(try store.generations(sweepId: sweep.id!).map(\.requested) == [Magnitude(0.1, .maxActivation), Magnitude(0.3, .maxActivation)])
        let csv = String(decoding: try store.exportFlatFile(sweepName: "s", format: .csv), as: UTF8.self)
        #expect(csv == "feature,prompt,magnitude,output,magnitude_unit,max_activation\r\n1,p,0.1,x,max-activation,40.0\r\n1,p,0.3,y,max-activation,40.0\r\n")
        let jsonl = String(decoding: try store.exportFlatFile(sweepName: "s", format: .jsonl), as: UTF8.self)
        #expect(jsonl.hasPrefix("{\"feature\":1,\"prompt\":\"p\",\"magnitude\":0.1,\"output\":\"x\",\"magnitude_unit\":\"max-activation\","))
        // The export imports back without --units, to the same rows.
        let exported = dir.path("e.csv")
        try store.exportFlatFile(sweepName: "s", format: .csv).write(to: URL(fileURLWithPath: exported))
        let second = try StoreDatabase.inMemory()
        try second.importFlatFile(at: exported, sweepName: "s")
        #expect(try second.exportFlatFile(sweepName: "s", format: .csv) == store.exportFlatFile(sweepName: "s", format: .csv))
        #expect(try second.sweep(named: "s")?.units == "max-activation")
    }

    @Test func withoutUnitsTheDefaultIsUnchanged() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let input = try dir.write("d.csv", "feature,prompt,magnitude,output\n1,p,2,x\n")
        let store = try StoreDatabase.inMemory()
        try store.importFlatFile(at: input, sweepName: "s")
        let sweep = try #require(try store.sweep(named: "s"))
        #expect(sweep.units == "imported")
        #expect(try store.generations(sweepId: sweep.id!).map(\.magnitudeUnit) == [nil])
    }

    @Test func absoluteTargetColumnIsKept() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let input = try dir.write("t.jsonl", """
            {"feature":2,"prompt":"p","magnitude":0.5,"magnitude_unit":"max-activation","absolute_target":12.25,"output":"x"}
            {"feature":2,"prompt":"p","magnitude":1,"magnitude_unit":"max-activation","output":"y"}

            """)
        let store = try StoreDatabase.inMemory()
        try store.importFlatFile(at: input, sweepName: "t")
        let g = try store.generations(sweepId: try #require(try store.sweep(named: "t")).id!)
        #expect(g.map(\.absoluteTarget) == [12.25, nil])
        #expect(g.map(\.magnitudeUnit) == [.maxActivation, .maxActivation])
    }

    /// Units must agree within a sweep: rows of a file, the file and --units, and a file and the sweep it extends.
    @Test func unitsThatDisagreeAreOneErrorNamingFileRowAndColumn() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let mixed = try dir.write("mixed.csv", "feature,prompt,magnitude,output,magnitude_unit\n1,p,1,x,absolute\n1,p,2,y,factor\n")
        let store = try StoreDatabase.inMemory()
        let before = try tableCounts(store)
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return error.localizedDescription }
        }
        let m1 = message { try store.importFlatFile(at: mixed, sweepName: "m") }
        #expect(m1.contains("mixed.csv") && m1.contains("row 2") && m1.contains("magnitude_unit") && m1.contains("factor"), "\(m1)")
        let plain = try dir.write("plain.csv", "feature,prompt,magnitude,output,magnitude_unit\n1,p,1,x,absolute\n")
        let m2 = message { try store.importFlatFile(at: plain, sweepName: "m", units: .maxActivation) }
        #expect(m2.contains("plain.csv") && m2.contains("magnitude_unit") && m2.contains("--units max-activation"), "\(m2)")
        let bad = try dir.write("bad.csv", "feature,prompt,magnitude,output,magnitude_unit\n1,p,1,x,volts\n")
        let m3 = message { try store.importFlatFile(at: bad, sweepName: "m") }
        #expect(m3.contains("bad.csv") && m3.contains("magnitude_unit") && m3.contains("volts"), "\(m3)")
        #expect(try tableCounts(store) == before, "nothing written")
        // Extending a sweep in another unit.
        try store.importFlatFile(at: plain, sweepName: "m")
        let more = try dir.write("more.csv", "feature,prompt,magnitude,output\n1,p,5,z\n")
        let m4 = message { try store.importFlatFile(at: more, sweepName: "m", units: .factor) }
        #expect(m4.contains("more.csv") && m4.contains("'absolute'") && m4.contains("'factor'"), "\(m4)")
        try store.importFlatFile(at: more, sweepName: "m", units: .absolute)
        #expect(try store.exportFlat(sweepName: "m").rows.map(\.magnitudeUnit) == [.absolute, .absolute])
    }
}
