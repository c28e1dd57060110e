// The weights' moving average against sgm's LitEma (Scripts/fixtures/make_training_fixtures.py),
// with its default update-count warm-up and with a constant decay. Kernel level, and tighter: the
// update is the same float32 arithmetic in the same order as LitEma's, so it must match to the bit.

import Foundation
import NN
import Tensor
import TestSupport
import Training
import XCTest

/// A Linear(4, 3)'s parameters under torch's names.
final class LinearParameters: Module {
    var weight: Tensor, bias: Tensor
    init(weight: Tensor, bias: Tensor) { self.weight = weight; self.bias = bias }
    func visitParameters(_ body: (String, inout Tensor) -> Void) {
        body("weight", &weight); body("bias", &bias)
    }
}

final class EMATests: XCTestCase {
    func testMatchesLitEmaWithAndWithoutItsWarmUp() throws {
        let f = try Fixture(Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("ema.safetensors"))
        let decay = f["decay"].scalars[0]
        for (label, warmsUp) in [("warm", true), ("constant", false)] {
            let model = LinearParameters(weight: f["init.weight"].copied(), bias: f["init.bias"].copied())
            let ema = ExponentialMovingAverage(decay: decay, warmsUp: warmsUp, of: model)
            for n in 1...25 {
                model.weight = f["step\(n).weight"].copied()
                model.bias = f["step\(n).bias"].copied()
                ema.update(from: model, updateNumber: n)
                for key in ["weight", "bias"] {
                    assertClose(ema.shadow[key]!, f["\(label)\(n).\(key)"], rtol: 0, atol: 0, "\(label) update \(n), \(key)")
                }
            }
        }
        // The warm-up's decay: 2/11 at the first update, the set decay from update 13 on.
        let ema = ExponentialMovingAverage(decay: decay, of: LinearParameters(weight: f["init.weight"], bias: f["init.bias"]))
        XCTAssertEqual(ema.decay(atUpdate: 1), Float(2) / 11)
        XCTAssertLessThan(ema.decay(atUpdate: 12), decay)
        XCTAssertEqual(ema.decay(atUpdate: 13), decay)
    }
}
