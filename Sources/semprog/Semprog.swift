import ArgumentParser
import Store
import Study

/// The root command: it only lists the subcommands (one file each).
@main
struct Semprog: AsyncParsableCommand {
    static let version = SemprogVersion.current

    static let configuration = CommandConfiguration(
        commandName: "semprog",
        abstract: "Steering sweeps of sparse-autoencoder features, their statistics (RQ1–RQ3) and reports.",
        version: version,
        subcommands: [
            Generate.self, Activations.self, TrainSAE.self, Explain.self,
            SweepCommand.self, Screen.self, Merge.self, Import.self, Export.self, Neuronpedia.self,
            Embed.self, Describe.self, Judge.self, Analyze.self, Stats.self, ReportCommand.self, Compare.self, Demo.self, Bench.self,
            SAECommand.self,
        ]
    )

    /// Runs the chosen subcommand; when it fails, removes the empty database files it created (a refused command
    /// leaves the folder as it was) before exiting with the error.
    static func main() async {
        do {
            var command = try parseAsRoot(Self.joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            StoreDatabase.removeEmptyDatabasesCreatedByThisProcess()
            exit(withError: error)
        }
    }

    /// `--features -1` or `--magnitudes -2,0,2`: the argument parser takes a value that starts with `-` for an
    /// option name and reports "Missing value". A value that starts with `-` and a digit or `.` after a long
    /// option is joined to it (`--features=-1`), so the option's own check names what is wrong with it.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { out += arguments[i...]; break }
            if a.hasPrefix("--"), !a.contains("="), i + 1 < arguments.count, Self.looksNegative(arguments[i + 1]) {
                out.append(a + "=" + arguments[i + 1])
                i += 2
            } else {
                out.append(a)
                i += 1
            }
        }
        return out
    }

    private static func looksNegative(_ value: String) -> Bool {
        let scalars = Array(value.unicodeScalars.prefix(2))
        guard scalars.count == 2, scalars[0] == "-" else { return false }
        return scalars[1] == "." || ("0"..."9").contains(scalars[1])
    }
}
