import ArgumentParser
import Foundation
import Store

extension Semprog {
    /// `semprog merge A.sqlite B.sqlite … --into F.sqlite`: merges shard databases of the same sweep.
    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Merge shard databases of the same sweep(s) into one (idempotent, one transaction)",
            discussion: """
                Sweeps are matched by name and must have identical settings; cells already in the output are \
                skipped. Analysis results are not merged: run 'semprog analyze' on the merged database.
                """)

        @Argument(help: "Shard databases to merge.")
        var shards: [String]

        @Option(name: .long, help: "The merged database (created when missing; merged into when it exists).")
        var into: String

        func validate() throws {
            guard !shards.isEmpty else { throw ValidationError("give at least one shard database to merge") }
        }

        func run() async throws {
            let target = try StoreDatabase(path: into)
            let summary = try target.merge(shards: shards)
            var message = "merged \(shards.count) shard(s) into \(into): sweeps \(summary.sweeps.joined(separator: ", ")); "
                + "\(summary.generationsAdded) generations added, \(summary.generationsSkipped) already present, "
                + "\(summary.baselinesAdded) baselines, \(summary.descriptionsAdded) descriptions, \(summary.explanationsAdded) explanations"
            if summary.conflictingCells > 0 {
                message += "\nwarning: \(summary.conflictingCells) cells had a different text in a later shard; the first one was kept"
            }
            Terminal.error(message)
        }
    }
}
