// swift-tools-version:6.0
// SVDMV: single-image-to-orbit generation with SVD-MV / SV3D on the CPU.
// Targets point one way: C shims -> Tensor -> NN -> models/diffusion; Imaging, Render and the
// dataset code sit beside them; the `svdmv` CLI only parses, prints and calls libraries.
import PackageDescription

// Our sources are written for the Swift 5 language mode: kernels share unsafe buffers across
// concurrentPerform workers, which strict Sendable checking cannot express without noise.
let swift5: [SwiftSetting] = [.swiftLanguageMode(.v5)]
let optimized: [SwiftSetting] = swift5 + [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "SVDMV",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "svdmv", targets: ["svdmv"]),
        .library(name: "FileSupport", targets: ["FileSupport"]),
        .library(name: "SeededRandom", targets: ["SeededRandom"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "Generation", targets: ["Generation"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Cameras", targets: ["Cameras"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Render", targets: ["Render"]),
        .library(name: "Shapes", targets: ["Shapes"]),
        .library(name: "MultiViewData", targets: ["MultiViewData"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Curation", targets: ["Curation"]),
        .library(name: "LearnedScores", targets: ["LearnedScores"]),
        .library(name: "Reporting", targets: ["Reporting"]),
        .library(name: "Benchmarks", targets: ["Benchmarks"]),
        .library(name: "TestSupport", targets: ["TestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: C shims (system libraries from Debian's -dev packages; see Scripts/setup)
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .systemLibrary(name: "CAssimp", path: "Sources/CAssimp"),

        // Vectorised kernels (softmax exp, SiLU, GELU, short attention heads) in C, built for AVX2 and baseline.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // MARK: Libraries
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels", "FileSupport"], swiftSettings: optimized),
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: optimized),
        .target(name: "Models", dependencies: ["NN", "Tensor"], swiftSettings: optimized),
        .target(name: "Diffusion", dependencies: ["Tensor"], swiftSettings: optimized),
        .target(name: "Shapes", dependencies: ["FileSupport", "SeededRandom"], swiftSettings: swift5),
        .target(name: "Generation", dependencies: ["Cameras", "Models", "Diffusion", "NN", "Tensor", "Imaging"],
                swiftSettings: swift5),
        // Training owns training: σ sampling and loss weighting, the SV3D and autoencoder objectives,
        // resumable runs, LoRA, the training stages and the per-σ probe of a trained model.
        .target(name: "Training", dependencies: ["Generation", "Models", "Diffusion", "MultiViewData", "Metrics", "NN", "Tensor", "Imaging", "FileSupport"],
                swiftSettings: swift5),
        .target(name: "FileSupport", swiftSettings: swift5),
        // The orbit-camera file (cameras.json) and the orbit geometry its writers share.
        .target(name: "Cameras", dependencies: ["FileSupport"], swiftSettings: swift5),
        .target(name: "SeededRandom", swiftSettings: swift5),
        // OpenEXR (libopenexr-dev) behind a C interface: the HDR environment maps of image-based lighting.
        .target(name: "CEXR", path: "Sources/CEXR",
                cxxSettings: [.unsafeFlags(["-I/usr/include/OpenEXR", "-I/usr/include/Imath"])],
                linkerSettings: [.linkedLibrary("OpenEXR"), .linkedLibrary("Iex"), .linkedLibrary("IlmThread"),
                                 .linkedLibrary("Imath")]),
        .target(name: "Imaging", dependencies: ["CPNG", "CTurboJPEG", "CEXR", "FileSupport"], swiftSettings: swift5),
        // The CLI's benchmarks (`svdmv bench`): engine ops and whole networks, training steps, and
        // curate's scorers on the inputs it makes (captures, procedural shapes rendered).
        .target(name: "Benchmarks", dependencies: ["Tensor", "NN", "Models", "Diffusion", "Training", "Curation", "MultiViewData",
                                                   "Cameras", "Imaging", "Render", "Shapes", "SeededRandom"],
                swiftSettings: optimized),
        // Dataset side: COLMAP / MVImgNet / renderer-output readers, training sequences, tar shards.
        .target(name: "CEigenHelper", path: "Sources/CEigenHelper",
                cxxSettings: [.unsafeFlags(["-I/usr/include/eigen3"])]),
        .target(name: "CJPEGRegion", path: "Sources/CJPEGRegion", linkerSettings: [.linkedLibrary("jpeg")]),
        .target(name: "MultiViewData",
                dependencies: ["Cameras", "CEigenHelper", "CJPEGRegion", "Imaging", "FileSupport", "SeededRandom", "Tensor"],
                swiftSettings: optimized),
        // PSNR, SSIM, LPIPS (pure functions and the LPIPS network), and the folder evaluator (CLIP-S
        // through the Models CLIP tower; ground truth rendered from meshes through Render).
        .target(name: "Metrics", dependencies: ["NN", "Tensor"], swiftSettings: optimized),
        .target(name: "Evaluation", dependencies: ["Cameras", "Metrics", "Models", "Render", "Imaging", "Reporting", "FileSupport", "Tensor"],
                // The protocols (Evaluation/protocols links here) travel with every binary.
                resources: [.copy("Protocols")], swiftSettings: swift5),
        // What the HTML reports share (evaluate's index.html, curate's report.html): escaping, the page
        // skeleton, thumbnails, SVG histograms.
        .target(name: "Reporting", dependencies: ["Imaging"], swiftSettings: swift5),
        // Data curation: per-object scores of orbit renders and MVImgNet captures, and the cascade of
        // thresholds (absolute or percentiles) that keeps or drops each (`svdmv curate`).
        .target(name: "Curation", dependencies: ["Cameras", "MultiViewData", "Imaging", "Reporting", "FileSupport"],
                swiftSettings: optimized),
        // Curation's learned scores on the models the evaluator loads (CLIP view consistency through
        // Evaluation's CLIP tower), kept out of Curation so that it stays free of model code.
        .target(name: "LearnedScores", dependencies: ["Curation", "Evaluation", "Models", "Imaging", "Tensor"], swiftSettings: swift5),
        // assimp's C++ Importer behind a C interface: the lenient import (primitive flags repaired, then validated).
        .target(name: "CAssimpImport", path: "Sources/CAssimpImport", linkerSettings: [.linkedLibrary("assimp")]),
        .target(name: "Render", dependencies: ["Cameras", "CAssimp", "CAssimpImport", "CPNG", "Imaging", "FileSupport", "SeededRandom"], swiftSettings: optimized),

        // MARK: Command-line tool
        .executableTarget(
            name: "svdmv",
            dependencies: [
                "Cameras", "Tensor", "NN", "Imaging", "Benchmarks", "MultiViewData", "Generation", "Models", "Diffusion", "Training", "Shapes", "Metrics", "Evaluation", "Render", "Curation", "LearnedScores",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The bundled default model and its example input (Scripts/train-default-model,
            // Evaluation/default-model.md), looked up by DefaultModel.swift.
            resources: [.copy("Resources/default-model.safetensors"), .copy("Resources/example-input.png")],
            swiftSettings: swift5),

        // The README's "Using SVDMV as a library" example, built and run by CLITests.LibraryExampleTests.
        .executableTarget(name: "LibraryExample", dependencies: ["Generation", "Tensor"], path: "Examples/LibraryExample",
                          swiftSettings: swift5),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["Tensor", "NN"], path: "Sources/TestSupport",
                swiftSettings: swift5),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport", "SeededRandom"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "NN", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "MetricsTests",
                    dependencies: ["Metrics", "Evaluation", "Models", "Render", "Imaging", "NN", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Training", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "GenerationTests", dependencies: ["Cameras", "Imaging", "Generation", "Models", "Diffusion", "NN", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "CLITests", dependencies: ["svdmv", "Cameras", "Diffusion", "Generation", "Imaging", "MultiViewData", "Models", "Tensor", "TestSupport",
                                                   .product(name: "ArgumentParser", package: "swift-argument-parser")],  // HelpTests walks the command tree
                    exclude: ["Snapshots"],  // read and rewritten (SVDMV_RECORD_SNAPSHOTS) in the source tree
                    swiftSettings: swift5),
        .testTarget(name: "CamerasTests", dependencies: ["Cameras"], swiftSettings: swift5),
        .testTarget(name: "ShapesTests", dependencies: ["Shapes"], swiftSettings: swift5),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Generation", "Models", "Diffusion", "NN", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "CPNG", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "DatasetTests", dependencies: ["Cameras", "MultiViewData", "TestSupport", "svdmv", "SeededRandom"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "CurationTests", dependencies: ["Curation", "Cameras", "MultiViewData", "Imaging", "Reporting", "TestSupport",
                                                       "LearnedScores", "Evaluation", "Models", "Tensor"],  // the CLIP score's tests
                    swiftSettings: swift5),
        .testTarget(name: "RenderTests", dependencies: ["Render", "Cameras", "Imaging", "TestSupport"],
                    swiftSettings: swift5),
    ]
)
