import Foundation
import TestSupport
import Report
import Testing
@testable import Study

/// `semprog report`'s work (`ReportRun`): the document list, the database check and a report from serialized data.
@Suite struct ReportRunTests {
    @Test func formatsAreParsedAndUnknownOnesNamed() throws {
        #expect(try ReportRun.formats(parsing: "html,pdf") == [.html, .pdf])
        #expect(try ReportRun.formats(parsing: " PDF ") == [.pdf])
        #expect(try ReportRun.formats(parsing: "html,html") == [.html])
        #expect { try ReportRun.formats(parsing: "html,docx") } throws: {
            $0.localizedDescription == "--format: unknown document 'docx'; use html, pdf or html,pdf"
        }
        #expect { try ReportRun.formats(parsing: ",") } throws: { $0.localizedDescription == "--format: give html, pdf or html,pdf" }
    }

    @Test func aMissingDatabaseIsNamedAndNotCreated() throws {
        let path = TestScratch.root.appendingPathComponent("no-such-\(UUID().uuidString).sqlite").path
        #expect { try ReportRun.loadFromDatabase(path: path, sweep: nil, console: RecordingConsole().console) } throws: {
            $0.localizedDescription == "\(path): no such database"
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func writesTheReportOfSerializedData() throws {
        let dir = try StudyFixtures.scratch("report")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = ReportData.synthetic(featureCount: 2, promptCount: 2, magnitudeCount: 3)
        let json = dir.appendingPathComponent("data.json")
        try data.encoded().write(to: json)
        let out = dir.appendingPathComponent("out").path
        let recorder = RecordingConsole()
        try ReportRun(source: .data(path: json.path), out: out, force: false, formats: [.html],
                      templates: StudyFixtures.repositoryRoot.appendingPathComponent("templates").path, threads: 2, quiet: true,
                      featureSelection: nil).run(console: recorder.console)
        let figures = try FileManager.default.contentsOfDirectory(atPath: out + "/figures").filter { $0.hasSuffix(".png") }
        #expect(recorder.output == ["wrote \(out): \(figures.count) figures"])   // no PDF: no page count
        #expect(FileManager.default.fileExists(atPath: out + "/report.html") && !FileManager.default.fileExists(atPath: out + "/report.pdf"))
        #expect(figures.count > 0)
    }
}
