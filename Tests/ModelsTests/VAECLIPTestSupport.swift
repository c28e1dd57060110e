// Shared helpers of the VAE and CLIP parity tests, in one namespace so that they cannot clash
// with other test files of the ModelsTests target.

import Foundation
@testable import Models
import NN
import Tensor
import TestSupport
import XCTest

enum VAECLIPFixtures {
    /// The tiny config of the fixtures.
    static let tinyAutoencoder = AutoencoderConfig(baseChannels: 32, channelMultipliers: [2, 1], resBlockCount: 1,
                                                   attentionResolutions: [8], resolution: 16, hasQuantConvs: true)

    static func fixture(_ name: String) throws -> Fixture {
        try Fixture.cached(Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent(name + ".safetensors"))
    }

    /// The fixture tensors under `prefix`, with the prefix removed.
    static func tensors(_ fixture: Fixture, under prefix: String) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, value) in fixture.tensors where key.hasPrefix(prefix) {
            out[String(key.dropFirst(prefix.count))] = value
        }
        return out
    }

    /// Submodule tolerance: 1e-4 (rtol and atol); prints the achieved errors.
    static func assertModuleClose(_ actual: Tensor, _ expected: Tensor, _ label: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        print(assertClose(actual, expected, rtol: 1e-4, atol: 1e-4, label, file: file, line: line))
    }

    /// The tiny ViT of clip_vit.safetensors: 257 tokens as ViT-H/14 at 224, width 64, 2 heads, -> 32.
    static let tinyVisionTransformer = VisionTransformerConfig(patchSize: 14, width: 64, layerCount: 2, headCount: 2,
                                                               outputWidth: 32)

    static func manifest(_ name: String) throws -> [String: [String: [Int]]] {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
        return try JSONDecoder().decode([String: [String: [Int]]].self, from: Data(contentsOf: url))
    }

    static func shapes(of module: Module, prefix: String = "") -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        module.visitParameters { key, t in out[prefix + key] = t.shape }
        return out
    }

    static func assertSameKeysAndShapes(_ actual: [String: [Int]], _ expected: [String: [Int]], _ label: String,
                                        file: StaticString = #filePath, line: UInt = #line) {
        let missing = Set(expected.keys).subtracting(actual.keys).sorted()
        let extra = Set(actual.keys).subtracting(expected.keys).sorted()
        let mismatched = expected.keys.filter { actual[$0] != nil && actual[$0] != expected[$0] }.sorted()
        XCTAssertTrue(missing.isEmpty, "\(label): missing \(missing.prefix(10))", file: file, line: line)
        XCTAssertTrue(extra.isEmpty, "\(label): unexpected \(extra.prefix(10))", file: file, line: line)
        let differences = mismatched.prefix(10).map { "\($0) \(actual[$0]!) vs \(expected[$0]!)" }
        XCTAssertTrue(mismatched.isEmpty, "\(label): shapes differ for \(differences)", file: file, line: line)
    }

    /// Resident set size of this process in bytes (Linux /proc/self/statm).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Unqualified use of the helpers inside the VAE and CLIP test cases.
protocol VAECLIPParityChecking {}

extension VAECLIPParityChecking {
    var tinyAutoencoder: AutoencoderConfig { VAECLIPFixtures.tinyAutoencoder }
    var tinyVisionTransformer: VisionTransformerConfig { VAECLIPFixtures.tinyVisionTransformer }

    func tensors(_ fixture: Fixture, under prefix: String) -> [String: Tensor] {
        VAECLIPFixtures.tensors(fixture, under: prefix)
    }

    func shapes(of module: Module) -> [String: [Int]] { VAECLIPFixtures.shapes(of: module) }

    func assertSameKeysAndShapes(_ actual: [String: [Int]], _ expected: [String: [Int]], _ label: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        VAECLIPFixtures.assertSameKeysAndShapes(actual, expected, label, file: file, line: line)
    }

    /// Submodule tolerance: 1e-4 (rtol and atol).
    func assertModuleClose(_ actual: Tensor, _ expected: Tensor, _ label: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        VAECLIPFixtures.assertModuleClose(actual, expected, label, file: file, line: line)
    }

    /// Runs `module` on the fixture's recorded input `<path>.in` and compares with `<path>.out`
    /// at the submodule tolerance.
    func assertSubmodule(_ fixture: Fixture, _ path: String, file: StaticString = #filePath, line: UInt = #line,
                         _ module: (Tensor) -> Tensor) {
        assertModuleClose(module(fixture[path + ".in"]), fixture[path + ".out"], path, file: file, line: line)
    }
}
