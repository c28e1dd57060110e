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
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Render", targets: ["Render"]),
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
        .target(name: "Generation", dependencies: ["Models", "Diffusion", "NN", "Tensor", "Imaging"],
                swiftSettings: swift5),
        .target(name: "Training", dependencies: ["NN", "Tensor", "Imaging", "FileSupport"], swiftSettings: swift5),
        .target(name: "FileSupport", swiftSettings: swift5),
        .target(name: "SeededRandom", swiftSettings: swift5),
        .target(name: "Imaging", dependencies: ["CPNG", "CTurboJPEG", "FileSupport"], swiftSettings: swift5),
        .target(name: "Benchmarks", dependencies: ["Tensor", "NN", "Models", "Diffusion"], swiftSettings: optimized),
        // Dataset side: COLMAP / MVImgNet / renderer-output readers, training sequences, tar shards.
        .target(name: "CEigenHelper", path: "Sources/CEigenHelper",
                cxxSettings: [.unsafeFlags(["-I/usr/include/eigen3"])]),
        .target(name: "CJPEGRegion", path: "Sources/CJPEGRegion", linkerSettings: [.linkedLibrary("jpeg")]),
        .target(name: "MultiViewData",
                dependencies: ["CEigenHelper", "CJPEGRegion", "CTurboJPEG", "Imaging", "FileSupport", "SeededRandom", "Tensor"],
                swiftSettings: optimized),
        // PSNR, SSIM, LPIPS (pure functions and the LPIPS network), and the folder evaluator (CLIP-S
        // through the Models CLIP tower; ground truth rendered from meshes through Render).
        .target(name: "Metrics", dependencies: ["NN", "Tensor"], swiftSettings: optimized),
        .target(name: "Evaluation", dependencies: ["Metrics", "Models", "Render", "Imaging", "FileSupport", "Tensor"],
                swiftSettings: swift5),
        .target(name: "Render", dependencies: ["CAssimp", "CPNG", "Imaging", "FileSupport", "SeededRandom"], swiftSettings: optimized),

        // MARK: Command-line tool
        .executableTarget(
            name: "svdmv",
            dependencies: [
                "Tensor", "NN", "Imaging", "Benchmarks", "MultiViewData", "Generation", "Models", "Diffusion", "Training", "Shapes", "Metrics", "Evaluation", "Render",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The bundled default model and its example input (Scripts/train-default-model,
            // Evaluation/default-model.md), looked up by DefaultModel.swift.
            resources: [.copy("Resources/default-model.safetensors"), .copy("Resources/example-input.png")],
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
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Models", "Diffusion", "NN", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "CLITests", dependencies: ["svdmv", "Diffusion", "Generation", "Imaging", "MultiViewData", "Models", "Tensor", "TestSupport"],
                    exclude: ["Snapshots"],  // read and rewritten (SVDMV_RECORD_SNAPSHOTS) in the source tree
                    swiftSettings: swift5),
        .testTarget(name: "ShapesTests", dependencies: ["Shapes"], swiftSettings: swift5),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "NN", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "CPNG", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "DatasetTests", dependencies: ["MultiViewData", "TestSupport", "svdmv", "SeededRandom"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "RenderTests", dependencies: ["Render", "Imaging", "TestSupport"],
                    swiftSettings: swift5),
    ]
)
