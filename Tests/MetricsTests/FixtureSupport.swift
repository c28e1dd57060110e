// The Metrics fixtures (Scripts/fixtures/make_metrics_fixtures.py): tensors in metrics.safetensors,
// scalar reference values and settings in the metrics.json sidecar.

import Foundation
import Metrics
import NN
import Tensor
import TestSupport
import XCTest

enum MetricsFixture {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func tensors() throws -> Fixture {
        try Fixture.cached(directory.appendingPathComponent("metrics.safetensors"))
    }

    static func json() throws -> [String: Any] {
        let url = directory.appendingPathComponent("metrics.json")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
                             "\(url.path) is not a JSON object")
    }

    /// A `{case: number}` table of the sidecar, e.g. "psnr" or "ssim".
    static func values(_ table: String) throws -> [String: Double] {
        (try json()[table] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    static func pairNames() throws -> [String] { try values("psnr").keys.sorted() }
}

/// The fixture script's weights: one torch.manual_seed(seed) stream, parameters in state-dict
/// order, each (rand − 0.5)·2·sqrt(6/fan_in) (conv weights), (rand − 0.5)·0.2 (biases) or
/// rand/C (lin weights); the scaling-layer buffers keep their constants.
func randomLPIPS(_ net: LPIPSNet, seed: UInt64) -> LPIPS {
    let model = LPIPS(net: net)
    var g = TorchGenerator(seed: seed)
    model.visitParameters { key, t in
        guard !key.hasPrefix("scaling_layer") else { return }
        let u = g.rand(t.shape)
        if key.hasPrefix("lin") {
            t = u * Float(1.0 / Double(t.shape[1]))
        } else if key.hasSuffix("bias") {
            t = (u - 0.5) * Float(0.2)
        } else {
            let fanIn = Double(t.shape[1] * t.shape[2] * t.shape[3])
            t = (u - 0.5) * Float(2 * (6.0 / fanIn).squareRoot())
        }
    }
    return model
}
