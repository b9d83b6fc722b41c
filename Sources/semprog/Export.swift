import ArgumentParser
import Foundation
import Store

extension Semprog {
    /// `semprog export --db FILE.sqlite [--sweep NAME] --format csv|jsonl [--out FILE]`.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export a sweep in the flat format (CSV or JSONL), to stdout or --out")

        @OptionGroup var databaseOptions: DatabaseOptions
        var db: String { databaseOptions.db }

        @Option(name: .long, help: "Sweep name (may be omitted when the database holds one sweep).")
        var sweep: String?

        @Option(name: .long, help: "Output format: csv or jsonl.")
        var format: String

        @Option(name: .long, help: "Output file (default: stdout).")
        var out: String?

        func validate() throws {
            guard FlatFormat(rawValue: format) != nil else { throw ValidationError("--format must be csv or jsonl, not '\(format)'") }
            guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("\(db): no such database") }
        }

        func run() async throws {
            let store = try StoreDatabase(path: db, access: .readOnly)
            let data = try store.exportFlatFile(sweepName: sweep, format: FlatFormat(rawValue: format)!)
            if let out {
                do { try data.write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                    throw CLIError.invalidArgument("\(out): cannot write: \(error.localizedDescription)")
                }
            } else {
                FileHandle.standardOutput.write(data)
            }
        }
    }
}
