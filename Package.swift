// swift-tools-version: 6.1
// semprog — steering sweeps of sparse-autoencoder features, their statistics and reports.
import PackageDescription

let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "semprog",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "semprog", targets: ["semprog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // C system libraries
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // Compute kernels in C: AVX2/FMA chosen at run time, portable C otherwise (always optimised: the
        // portable loops are the fallback and the tests' second opinion).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Pipeline stages (dependencies point downward only)
        .target(name: "Randomness"),
        // The steering magnitude as one value type (value + unit) from the CLI to the database and the report.
        .target(name: "Units"),
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimise),
        .target(name: "ModelFormats", dependencies: ["CZlib"], swiftSettings: optimise),
        .target(name: "Tokenization", swiftSettings: optimise),
        .target(name: "LanguageModel", dependencies: ["Tensor", "ModelFormats", "Tokenization", "CKernels", "Randomness"],
                swiftSettings: optimise),
        .target(name: "SparseAutoencoder", dependencies: ["Tensor", "ModelFormats", "LanguageModel", "Randomness"],
                swiftSettings: optimise),
        .target(name: "TextEmbedding", dependencies: ["Tensor", "ModelFormats", "Tokenization", "CKernels"],
                swiftSettings: optimise),
        .target(name: "Store", dependencies: [.product(name: "GRDB", package: "GRDB.swift"), "CZlib", "Units"],
                exclude: ["FORMAT.md"]),
        .target(name: "Sweep", dependencies: ["Tensor", "ModelFormats", "LanguageModel", "SparseAutoencoder", "Store", "Analysis", "Randomness", "Units"],
                swiftSettings: optimise),
        .target(name: "Analysis", dependencies: [.product(name: "RealModule", package: "swift-numerics"), "CZlib", "Randomness"],
                swiftSettings: optimise),
        .target(name: "Plotting", dependencies: ["CCairo", "CZlib"]),
        .target(name: "Report", dependencies: ["Plotting", "Randomness", "Units", .product(name: "Mustache", package: "swift-mustache")]),
        // The study layer: analysis pipeline, embedding cache, describe runs, report assembly, demo plan.
        .target(name: "Study", dependencies: [
            "Analysis", "LanguageModel", "ModelFormats", "Randomness", "Report", "SparseAutoencoder", "Store", "Sweep", "Tensor",
            "TextEmbedding", "Tokenization", "Units",
        ], swiftSettings: optimise),
        // The CLI: argument parsing; the work is Study's (and the stages' types that options name).
        .executableTarget(name: "semprog", dependencies: [
            "Analysis", "LanguageModel", "Report", "SparseAutoencoder", "Store", "Study", "Sweep", "Units",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimise),

        // Tests: one target per module, plus end-to-end CLI tests; TestSupport holds what several share.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "UnitsTests", dependencies: ["Units"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "CKernels", "Randomness"]),
        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats", "Tensor", "Randomness"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "ModelFormats", "TestSupport"]),
        .testTarget(name: "LanguageModelTests", dependencies: ["LanguageModel", "CKernels", "Tensor", "ModelFormats", "Tokenization", "Randomness", "TestSupport"]),
        .testTarget(name: "SparseAutoencoderTests", dependencies: ["SparseAutoencoder", "LanguageModel", "Tensor", "ModelFormats", "Randomness", "TestSupport"]),
        .testTarget(name: "TextEmbeddingTests", dependencies: ["TextEmbedding", "ModelFormats", "Tensor", "Randomness", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport", "Randomness", "Units", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SweepTests", dependencies: ["Sweep", "Analysis", "LanguageModel", "SparseAutoencoder", "Store", "Tensor", "Units"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "TestSupport", "Randomness"], exclude: ["Fixtures"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting", "Randomness", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Plotting", "TestSupport"]),
        .testTarget(name: "StudyTests", dependencies: ["Study", "Analysis", "LanguageModel", "ModelFormats", "Report",
                                                      "SparseAutoencoder", "Store", "Sweep", "Tensor", "TestSupport", "Units"]),
        .testTarget(name: "semprogTests", dependencies: ["semprog", "ModelFormats", "Store", "TestSupport", "Units"]),
    ],
    swiftLanguageModes: [.v6]
)
