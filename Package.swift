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

        // MARK: Libraries
        .target(name: "Tensor", dependencies: ["CBLAS", "FileSupport"], swiftSettings: optimized),
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: optimized),
        .target(name: "FileSupport", swiftSettings: swift5),
        .target(name: "Imaging", dependencies: ["CPNG", "CTurboJPEG", "FileSupport"], swiftSettings: swift5),
        .target(name: "Render", dependencies: ["CAssimp", "CPNG", "Imaging", "FileSupport"], swiftSettings: optimized),

        // MARK: Command-line tool
        .executableTarget(
            name: "svdmv",
            dependencies: [
                "Tensor", "NN", "Imaging", "Render",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swift5),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["Tensor"], path: "Sources/TestSupport",
                swiftSettings: swift5),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"],
                    swiftSettings: swift5),
        .testTarget(name: "RenderTests", dependencies: ["Render", "Imaging", "TestSupport"],
                    swiftSettings: swift5),
    ]
)
