// The Metrics fixtures (Scripts/fixtures/make_metrics_fixtures.py): tensors in metrics.safetensors,
// scalar reference values and settings in the metrics.json sidecar.

import Foundation
import Tensor
import TestSupport

enum MetricsFixture {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let tensors = try! Fixture(directory.appendingPathComponent("metrics.safetensors"))
    static let json: [String: Any] = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("metrics.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    /// A `{case: number}` table of the sidecar, e.g. "psnr" or "ssim".
    static func values(_ table: String) -> [String: Double] {
        (json[table] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    static var pairNames: [String] { values("psnr").keys.sorted() }
}
