import Foundation
import GRDB
import Testing
import Units
@testable import Store

@Suite struct CSVTests {
    @Test func parsesQuotedFieldsNewlinesAndCRLF() throws {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"line1\nline2\"\r\n\r\n1,,\n\"\",2,3"
        let records = try CSV.parse(text)
        #expect(records.map(\.fields) == [["a", "b", "c"], ["x, y", "say \"hi\"", "line1\nline2"], ["1", "", ""], ["", "2", "3"]])
        #expect(records.map(\.line) == [1, 2, 5, 6])
    }

    @Test func escapeQuotesOnlyWhenNeeded() throws {
        #expect(CSV.escape("plain") == "plain")
        #expect(CSV.escape("a,b") == "\"a,b\"")
        #expect(CSV.escape("q\"") == "\"q\"\"\"")
        #expect(CSV.escape(" lead") == "\" lead\"")
        let fields = ["ü, \"x\"\r\n", "", " ", "日本語", "a\rb"]
        #expect(try CSV.parse(CSV.line(fields))[0].fields == fields)
    }

    @Test(arguments: [
        ("a,b\n\"open,1\n", "unterminated"),
        ("a,b\n\"x\"y,1\n", "after a closing quote"),
        ("a,b\nx\"y,1\n", "inside an unquoted field"),
    ])
    func syntaxErrors(text: String, message: String) {
        do {
            _ = try CSV.parse(text)
            Issue.record("expected a syntax error for \(text.debugDescription)")
        } catch {
            #expect(error.record == 2)
            #expect(error.message.contains(message))
        }
    }
}

/// Rows whose text exercises the escaping rules of both formats.
let trickyRows: [FlatRow] = [
    FlatRow(feature: 3, prompt: "Once upon a time", magnitude: 0, magnitudeUnit: .absolute, output: "there was a \"quoted\", comma-laden tale\nover two lines",
            baseline: "base, line", description: "a story", explanation: "fairy tales 🧚", fractionNonzero: 0.00123,
            maxActivation: 17.5, model: "SmolLM2-135M", sae: "sae/l10"),
    FlatRow(feature: 3, prompt: "Once upon a time", magnitude: 2.5, magnitudeUnit: .absolute, absoluteTarget: 2.5, output: "naïve café — 日本語 🙂\r\nCRLF inside",
            baseline: "base, line", description: nil, explanation: "fairy tales 🧚", fractionNonzero: 0.00123,
            maxActivation: 17.5, model: "SmolLM2-135M", sae: "sae/l10"),
    FlatRow(feature: 3, prompt: "Once upon a time", magnitude: -1e-05, magnitudeUnit: .absolute, output: "", baseline: "base, line",
            explanation: "fairy tales 🧚", fractionNonzero: 0.00123, maxActivation: 17.5, model: "SmolLM2-135M", sae: "sae/l10"),
    FlatRow(feature: 12, prompt: "  leading spaces, \"quotes\"\tand tab", magnitude: 100, magnitudeUnit: .absolute, absoluteTarget: 100, output: "back\\slash \u{1} control",
            baseline: nil, description: "described, with comma", explanation: nil, fractionNonzero: nil, maxActivation: nil,
            model: "SmolLM2-135M", sae: "sae/l10"),
]

private func sortedRows(_ rows: [FlatRow]) -> [FlatRow] {
    rows.sorted { ($0.feature, $0.prompt, $0.magnitude) < ($1.feature, $1.prompt, $1.magnitude) }
}

@Suite struct FlatRoundTripTests {
    @Test(arguments: FlatFormat.allCases)
    func importExportImportIsExact(format: FlatFormat) throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let original = FlatFile.write(trickyRows, optionalColumns: FlatColumn.allCases, format: format)
        let input = dir.path("in.\(format.rawValue)")
        try original.write(to: URL(fileURLWithPath: input))

        let first = try StoreDatabase.inMemory()
        let summary = try first.importFlatFile(at: input)
        #expect(summary == FlatImportSummary(sweepName: "in", generations: 4, baselines: 1, prompts: 2, features: 1))
        let (rows, optional) = try first.exportFlat(sweepName: nil)
        #expect(sortedRows(rows) == sortedRows(trickyRows))
        #expect(Set(optional) == Set(FlatColumn.allCases).subtracting(FlatColumn.required))

        // export → import → export is byte-identical, in both formats, and across formats.
        for exportFormat in FlatFormat.allCases {
            let exported = try first.exportFlatFile(sweepName: "in", format: exportFormat)
            let path = dir.path("out-\(format.rawValue).\(exportFormat.rawValue)")
            try exported.write(to: URL(fileURLWithPath: path))
            let second = try StoreDatabase.inMemory()
            try second.importFlatFile(at: path, sweepName: "in")
            for f in FlatFormat.allCases {
                #expect(try second.exportFlatFile(sweepName: nil, format: f) == first.exportFlatFile(sweepName: nil, format: f))
            }
        }
    }

    @Test func onlyColumnsWithValuesAreExported() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let input = try dir.write("plain.csv", "feature,prompt,magnitude,output\n1,p,2,out\n1,p,4,\"o,ut\"\n")
        let store = try StoreDatabase.inMemory()
        try store.importFlatFile(at: input, sweepName: "s")
        let csv = String(decoding: try store.exportFlatFile(sweepName: "s", format: .csv), as: UTF8.self)
        #expect(csv == "feature,prompt,magnitude,output\r\n1,p,2.0,out\r\n1,p,4.0,\"o,ut\"\r\n")
        let jsonl = String(decoding: try store.exportFlatFile(sweepName: "s", format: .jsonl), as: UTF8.self)
        #expect(jsonl == "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":2.0,\"output\":\"out\"}\n{\"feature\":1,\"prompt\":\"p\",\"magnitude\":4.0,\"output\":\"o,ut\"}\n")
        #expect(try store.sweep(named: "s")?.magnitudeValues == [2, 4])
        #expect(try store.sweep(named: "s")?.settings().method == "imported")
    }

    @Test func importingMoreCellsExtendsAnImportedSweep() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let a = try dir.write("a.csv", "feature,prompt,magnitude,output\n1,p,2,x\n")
        let b = try dir.write("b.jsonl", "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":8,\"output\":\"y\"}\n")
        let store = try StoreDatabase.inMemory()
        try store.importFlatFile(at: a, sweepName: "s")
        try store.importFlatFile(at: b, sweepName: "s")
        #expect(try store.sweep(named: "s")?.magnitudeValues == [2, 8])
        #expect(try store.exportFlat(sweepName: "s").rows.map(\.output) == ["x", "y"])
    }

    @Test func exportNeedsASweepNameWhenThereAreSeveral() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let a = try dir.write("a.csv", "feature,prompt,magnitude,output\n1,p,2,x\n")
        let store = try StoreDatabase.inMemory()
        #expect(throws: StoreError.ambiguousSweep(available: [])) { _ = try store.exportFlat(sweepName: nil) }
        try store.importFlatFile(at: a, sweepName: "one")
        try store.importFlatFile(at: a, sweepName: "two")
        #expect(throws: StoreError.ambiguousSweep(available: ["one", "two"])) { _ = try store.exportFlat(sweepName: nil) }
        #expect(throws: StoreError.unknownSweep("three")) { _ = try store.exportFlat(sweepName: "three") }
    }
}

/// A bad input, where the error must point, and a fragment of its message.
struct BadInputCase: Sendable, CustomTestStringConvertible {
    var name: String
    var file: String
    var text: String
    var position: InputPosition?
    var column: String?
    var message: String
    var testDescription: String { name }
}

let header = "feature,prompt,magnitude,output,baseline\n"
let badInputCases: [BadInputCase] = [
    .init(name: "CSV unterminated quote", file: "x.csv", text: header + "1,p,1,ok,b\n2,\"open,1,x,b\n", position: .row(2, line: 3), column: "prompt", message: "unterminated"),
    .init(name: "CSV stray quote", file: "x.csv", text: header + "1,p,1,say \"hi\",b\n", position: .row(1, line: 2), column: "output", message: "inside an unquoted field"),
    .init(name: "CSV too few fields", file: "x.csv", text: header + "1,p,1,ok,b\n2,p,1\n", position: .row(2, line: 3), column: "output", message: "3 fields but the header has 5"),
    .init(name: "CSV too many fields", file: "x.csv", text: header + "1,p,1,ok,b,extra\n", position: .row(1, line: 2), column: nil, message: "6 fields"),
    .init(name: "CSV missing required column", file: "x.csv", text: "feature,prompt,output\n1,p,x\n", position: .header, column: "magnitude", message: "required column is missing"),
    .init(name: "CSV unknown column", file: "x.csv", text: "feature,prompt,magnitude,output,temp\n1,p,1,x,3\n", position: .header, column: "temp", message: "unknown column"),
    .init(name: "CSV non-numeric magnitude", file: "x.csv", text: header + "1,p,1,ok,b\n1,p,strong,x,b\n", position: .row(2, line: 3), column: "magnitude", message: "'strong' is not a number"),
    .init(name: "CSV empty magnitude", file: "x.csv", text: header + "1,p,,x,b\n", position: .row(1, line: 2), column: "magnitude", message: "missing"),
    .init(name: "CSV NaN magnitude", file: "x.csv", text: header + "1,p,NaN,x,b\n", position: .row(1, line: 2), column: "magnitude", message: "NaN and infinity"),
    .init(name: "CSV infinite magnitude", file: "x.csv", text: header + "1,p,-inf,x,b\n", position: .row(1, line: 2), column: "magnitude", message: "NaN and infinity"),
    .init(name: "CSV infinite max_activation", file: "x.csv", text: "feature,prompt,magnitude,output,max_activation\n1,p,1,x,infinity\n", position: .row(1, line: 2), column: "max_activation", message: "NaN and infinity"),
    .init(name: "CSV fraction outside [0,1]", file: "x.csv", text: "feature,prompt,magnitude,output,fraction_nonzero\n1,p,1,x,1.5\n", position: .row(1, line: 2), column: "fraction_nonzero", message: "outside [0, 1]"),
    .init(name: "CSV bad feature", file: "x.csv", text: header + "-3,p,1,x,b\n", position: .row(1, line: 2), column: "feature", message: "not a feature index"),
    .init(name: "CSV duplicate cell", file: "x.csv", text: header + "1,p,1,x,b\n1,q,1,x,b\n1,p,1.0,y,b\n", position: .row(3, line: 4), column: "magnitude", message: "duplicate (feature, prompt, magnitude)"),
    .init(name: "CSV duplicate after a multi-line field", file: "x.csv", text: header + "1,\"p\nq\",1,x,b\n1,\"p\nq\",1,y,b\n", position: .row(2, line: 4), column: "magnitude", message: "first at row 1"),
    .init(name: "CSV inconsistent baseline", file: "x.csv", text: header + "1,p,1,x,b\n1,p,2,x,other\n", position: .row(2, line: 3), column: "baseline", message: "differs"),
    .init(name: "CSV two models", file: "x.csv", text: "feature,prompt,magnitude,output,model\n1,p,1,x,m1\n1,p,2,x,m2\n", position: .row(2, line: 3), column: "model", message: "one model"),
    .init(name: "JSONL malformed line", file: "x.jsonl", text: "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":1,\"output\":\"x\"}\n{\"feature\":2,\"prompt\":\"p\",\n", position: .line(2), column: nil, message: "malformed JSON"),
    .init(name: "JSONL not an object", file: "x.jsonl", text: "[1,2]\n", position: .line(1), column: nil, message: "expected a JSON object"),
    .init(name: "JSONL missing column", file: "x.jsonl", text: "\n{\"feature\":1,\"prompt\":\"p\",\"output\":\"x\"}\n", position: .line(2), column: "magnitude", message: "required column is missing"),
    .init(name: "JSONL non-numeric magnitude", file: "x.jsonl", text: "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":\"big\",\"output\":\"x\"}\n", position: .line(1), column: "magnitude", message: "not a number"),
    .init(name: "JSONL boolean magnitude", file: "x.jsonl", text: "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":true,\"output\":\"x\"}\n", position: .line(1), column: "magnitude", message: "boolean"),
    .init(name: "JSONL NaN magnitude", file: "x.jsonl", text: "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":\"NaN\",\"output\":\"x\"}\n", position: .line(1), column: "magnitude", message: "NaN and infinity"),
    .init(name: "JSONL overflowing number", file: "x.jsonl", text: "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":1e400,\"output\":\"x\"}\n", position: .line(1), column: nil, message: "malformed JSON"),
    .init(name: "JSONL fractional feature", file: "x.jsonl", text: "{\"feature\":1.5,\"prompt\":\"p\",\"magnitude\":1,\"output\":\"x\"}\n", position: .line(1), column: "feature", message: "not a feature index"),
    .init(name: "JSONL output not text", file: "x.jsonl", text: "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":1,\"output\":3}\n", position: .line(1), column: "output", message: "expected text"),
    .init(name: "JSONL duplicate cell", file: "x.jsonl", text: "{\"feature\":1,\"prompt\":\"p\",\"magnitude\":1,\"output\":\"x\"}\n{\"feature\":1,\"prompt\":\"p\",\"magnitude\":1,\"output\":\"y\"}\n", position: .line(2), column: "magnitude", message: "first at line 1"),
]

@Suite struct FlatBadInputTests {
    @Test(arguments: badInputCases)
    func badInputIsOneClearErrorAndChangesNothing(_ bad: BadInputCase) throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let store = try StoreDatabase(path: dir.path("db.sqlite"))
        // A database that already holds a sweep: the failed import must leave it exactly as it was.
        let good = try dir.write("good.csv", header + "7,existing,1,kept,b\n")
        try store.importFlatFile(at: good, sweepName: "s")
        let before = try tableCounts(store)
        let exportBefore = try store.exportFlatFile(sweepName: "s", format: .jsonl)

        let path = try dir.write(bad.file, bad.text)
        do {
            try store.importFlatFile(at: path, sweepName: "s")
            Issue.record("\(bad.name): import should fail")
        } catch let error as StoreError {
            guard case let .badInput(file, position, column, _) = error else {
                Issue.record("\(bad.name): unexpected error \(error)"); return
            }
            #expect(file == path)
            #expect(position == bad.position)
            #expect(column == bad.column)
            let message = error.localizedDescription
            #expect(message.contains(bad.message), "\(message)")
            #expect(message.hasPrefix(path))
            if let column = bad.column { #expect(message.contains("column '\(column)'")) }
        }
        #expect(try tableCounts(store) == before)
        #expect(try store.exportFlatFile(sweepName: "s", format: .jsonl) == exportBefore)
    }

    @Test func cellAlreadyInTheDatabaseIsADuplicate() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let store = try StoreDatabase.inMemory()
        let a = try dir.write("a.csv", header + "1,p,1,x,b\n")
        try store.importFlatFile(at: a, sweepName: "s")
        let before = try tableCounts(store)
        let b = try dir.write("b.csv", header + "1,p,2,new,b\n1,p,1,again,b\n")
        #expect(throws: StoreError.badInput(file: b, at: .row(2, line: 3), column: "magnitude",
                                            message: "(feature, prompt, magnitude) = (1, \"p\", 1.0) is already stored in sweep 's'")) {
            try store.importFlatFile(at: b, sweepName: "s")
        }
        #expect(try tableCounts(store) == before)
        let c = try dir.write("c.csv", header + "1,p,3,new,changed baseline\n")
        #expect(throws: StoreError.self) { try store.importFlatFile(at: c, sweepName: "s") }
        #expect(try tableCounts(store) == before)
    }

    @Test func invalidUTF8IsRefused() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let path = dir.path("bad.csv")
        try Data([0x66, 0x2C, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.unreadable(file: path, reason: "the file is not valid UTF-8")) {
            try StoreDatabase.inMemory().importFlatFile(at: path)
        }
    }
}
