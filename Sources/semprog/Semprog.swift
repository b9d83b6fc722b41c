import ArgumentParser

/// The root command: it only lists the subcommands (one file each).
@main
struct Semprog: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "semprog",
        abstract: "Steering sweeps of sparse-autoencoder features, their statistics (RQ1–RQ3) and reports.",
        version: version,
        subcommands: [
            Generate.self, Activations.self, TrainSAE.self, Explain.self,
            SweepCommand.self, Merge.self, Import.self, Export.self, Neuronpedia.self,
            Embed.self, Describe.self, Analyze.self, Stats.self, ReportCommand.self, Compare.self, Demo.self, Bench.self,
        ]
    )
}
