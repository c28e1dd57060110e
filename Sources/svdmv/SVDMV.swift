// The `svdmv` command: subcommands only, each in its own file as an extension of the root.
// The CLI parses, validates, prints and calls the libraries; no numerics live here.

import ArgumentParser

@main
struct SVDMV: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svdmv",
        abstract: "Single-image-to-3D-orbit generation with SVD-MV / SV3D on the CPU.",
        version: "0.1.0",
        subcommands: SVDMV.available)

    /// Subcommands that work; `svdmv --help` lists only these.
    static var available: [ParsableCommand.Type] {
        [Generate.self, RenderCommand.self, Evaluate.self, Train.self, Dataset.self, Curate.self, Shapes.self,
         ContactSheetCommand.self, Weights.self, Bench.self, Probe.self, Info.self]
    }
}
