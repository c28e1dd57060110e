// The LPIPS network's options, shared by `evaluate` and `train`'s perceptual terms.

import ArgumentParser
import Foundation
import Metrics

extension LPIPSNet: ExpressibleByArgument {}

struct LPIPSOptions: ParsableArguments {
    @Option(help: "LPIPS trunk: alex or vgg (default: vgg, as sgm's autoencoder loss and SyncDreamer's evaluation; with an evaluation protocol, the protocol's).")
    var lpips: LPIPSNet?
    @Option(help: ArgumentHelp("Folder holding alex.safetensors / vgg.safetensors (default $SVDMV_LPIPS_DIR or ~/.cache/svdmv/lpips; Scripts/fetch-lpips-weights fills it).", valueName: "dir"))
    var lpipsWeights: String?

    /// The trunk: the option, else `fallback`.
    func net(_ fallback: LPIPSNet = .vgg) -> LPIPSNet { lpips ?? fallback }

    /// The network with its real weights.
    func network(_ fallback: LPIPSNet = .vgg) throws -> LPIPS {
        let dir = lpipsWeights.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? LPIPS.defaultWeightsDirectory
        return try LPIPS.pretrained(net: net(fallback), directory: dir)
    }
}
