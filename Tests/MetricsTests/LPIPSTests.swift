// LPIPS against the `lpips` package (0.1.4): (1) random weights of the real AlexNet/VGG16
// architecture, regenerated here from the fixture's seed with TorchGenerator, so the architecture,
// key names and forward pass are always checked without committing weights; (2) the real v0.1
// weights from Scripts/fetch-lpips-weights (run by Scripts/setup), |difference| < 1e-4 per pair.

import Foundation
import Metrics
import NN
import Tensor
import TestSupport
import XCTest

final class LPIPSTests: XCTestCase {
    var x0: Tensor!, x1: Tensor!

    override func setUpWithError() throws {
        let f = try MetricsFixture.tensors()
        (x0, x1) = (f["lpips.x0"], f["lpips.x1"])
    }

    func checkRandom(_ net: LPIPSNet, file: StaticString = #filePath, line: UInt = #line) throws {
        let entry = try XCTUnwrap((MetricsFixture.json()["lpips_random"] as? [String: Any])?[net.rawValue] as? [String: Any])
        let seed = try XCTUnwrap(entry["seed"] as? Int)
        let sums = try XCTUnwrap(entry["parameter_sums"] as? [String: Double])
        let model = randomLPIPS(net, seed: UInt64(seed))
        // Same keys as the package (minus its buffers), and the same generated weights.
        let keys = model.namedParameters().map(\.key).filter { !$0.hasPrefix("scaling_layer") }
        XCTAssertEqual(Set(keys), Set(sums.keys), "parameter keys", file: file, line: line)
        for (key, t) in model.namedParameters() where sums[key] != nil {
            let sum = t.scalars.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, sums[key]!, accuracy: 1e-6 * max(1, abs(sums[key]!)) + 1e-4,
                           "generated \(key)", file: file, line: line)
        }
        let terms = model.layerDistances(x0, x1)
        for (k, term) in terms.enumerated() {
            assertClose(term, try MetricsFixture.tensors()["lpips_random.\(net.rawValue).layer\(k)"],
                        rtol: 1e-4, atol: 1e-7, "\(net) layer \(k)", file: file, line: line)
        }
        let d = model(x0, x1), expected = try MetricsFixture.tensors()["lpips_random.\(net.rawValue).out"]
        let closeness = assertClose(d, expected, rtol: 1e-4, atol: 1e-7, "\(net) distance", file: file, line: line)
        print("LPIPS-\(net) random weights: max rel diff \(closeness.maxRelativeDifference)")
    }

    func testRandomWeightAlexNetMatchesLPIPSPackage() throws { try checkRandom(.alex) }
    func testRandomWeightVGG16MatchesLPIPSPackage() throws { try checkRandom(.vgg) }

    func checkReal(_ net: LPIPSNet, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = LPIPS.weightsURL(for: net)
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("real LPIPS weights missing: \(url.path); run Scripts/fetch-lpips-weights "
                    + "(Scripts/setup does) or set SVDMV_LPIPS_DIR", file: file, line: line)
            return
        }
        let entry = try XCTUnwrap((MetricsFixture.json()["lpips_real"] as? [String: Any])?[net.rawValue] as? [String: Any])
        let expected = try XCTUnwrap(entry["out"] as? [Double]).map(Float.init)
        let model = try LPIPS.pretrained(net: net)
        let d = model(x0, x1).scalars
        let closeness = assertClose(d, expected, rtol: 0, atol: 1e-4, "\(net) real weights", file: file, line: line)
        print("LPIPS-\(net) real weights: distances \(d), max |diff| \(closeness.maxAbsDifference)")
    }

    func testRealWeightAlexNetMatchesLPIPSPackage() throws { try checkReal(.alex) }
    func testRealWeightVGG16MatchesLPIPSPackage() throws { try checkReal(.vgg) }

    func testDistanceIsZeroForIdenticalInputsAndSymmetric() {
        let model = randomLPIPS(.alex, seed: 3)
        // Not bit-exactly 0: both inputs go through one batched convolution whose GEMM may round an
        // image's columns differently by position (as PyTorch's can).
        assertClose(model(x0, x0).scalars, [0, 0, 0], rtol: 0, atol: 1e-12, "identical inputs")
        assertClose(model(x0, x1), model(x1, x0), rtol: 1e-5, atol: 1e-7, "symmetry")
    }

    func testStrictLoadingNamesMissingAndUnexpectedKeys() throws {
        let model = LPIPS(net: .alex)
        var tensors = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.key, $0.value) })
        tensors["lin4.model.1.weight"] = nil
        tensors["net.slice9.0.weight"] = Tensor(zeros: [1])
        XCTAssertThrowsError(try model.load(tensors)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing key lin4.model.1.weight"), text)
            XCTAssertTrue(text.contains("unexpected key net.slice9.0.weight"), text)
        }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-lpips-\(UUID())")
        XCTAssertThrowsError(try LPIPS.pretrained(net: .vgg, directory: missing)) { error in
            XCTAssertTrue("\(error)".contains("Scripts/fetch-lpips-weights"), "\(error)")
        }
    }
}
