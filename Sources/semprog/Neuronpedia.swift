import ArgumentParser
import Store
import Study

extension Semprog {
    /// `semprog neuronpedia import|fetch`: Neuronpedia explanations, density and max activation for an SAE
    /// (see `Study.NeuronpediaRun`).
    struct Neuronpedia: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "neuronpedia",
            abstract: "Import or fetch Neuronpedia explanations, density and max activation for an SAE's features",
            subcommands: [NeuronpediaImport.self, NeuronpediaFetch.self])
    }
}

/// Options shared by `neuronpedia import` and `fetch`.
struct NeuronpediaStoreOptions: ParsableArguments {
    /// How the analysis's preferred explanation is chosen; see Sources/Store/Neuronpedia.swift.
    @Option(name: .long, help: ArgumentHelp(
        "Which explanation becomes the preferred one the analysis uses: first (Neuronpedia's first, default), "
            + "type:NAME (first with that typeName), model:NAME (first with that explanationModelName), "
            + "or keep (leave an existing preferred explanation).",
        valueName: "first|type:NAME|model:NAME|keep"))
    var prefer: String = "first"

    @Flag(name: .long, help: "Import even when modelId/layer does not match the SAE's neuronpedia_id.")
    var force = false

    func validate() throws {
        guard ExplanationPreference(argument: prefer) != nil else {
            throw ValidationError("--prefer must be first, keep, type:NAME or model:NAME, not '\(prefer)'")
        }
    }

    /// `--prefer` and `--force` (checked by `validate`).
    var importOptions: NeuronpediaRun.ImportOptions {
        .init(preference: ExplanationPreference(argument: prefer) ?? .first, force: force)
    }
}
