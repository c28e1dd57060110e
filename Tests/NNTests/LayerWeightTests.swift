// Layer weights kept in F16/BF16 (inference) against the same weights in Float32: identical
// outputs (the widened weight is exactly the rounded Float32 weight, the arithmetic is the same
// Float32 GEMM), storage accounting, conversions back and forth, and the loader's errors.

import Foundation
import NN
import Tensor
import TestSupport
import XCTest

final class LayerWeightTests: XCTestCase {
    /// Weights rounded through `dtype`, so the Float32 model holds exactly what half storage holds.
    private func representable(_ t: Tensor, _ dtype: DType) -> Tensor { HalfTensor(t, dtype: dtype).float() }

    private func block(seed: UInt64, dtype: DType) -> ResBlock {
        let b = ResBlock(8, 16, 12)
        b.initializeRandomly(seed: seed)
        b.visitParameters { _, t in t = representable(t, dtype) }
        return b
    }

    private func temporaryFile() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-\(UUID()).safetensors")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testHalfStoredLayersGiveTheFloat32Output() {
        var g = TorchGenerator(seed: 5)
        let x = g.randn([2, 8, 6, 6]), e = g.randn([2, 12])
        for dtype in [DType.float16, .bfloat16] {
            let reference = block(seed: 9, dtype: dtype)
            let half = block(seed: 9, dtype: dtype)
            half.storeLayerWeights(in: dtype)
            XCTAssertEqual(half.conv1.storedWeight.dtype, dtype)
            XCTAssertEqual(half.emb.storedWeight.dtype, dtype)
            // kernel-level tolerance: same Float32 arithmetic on the same values
            assertClose(half(x, e), reference(x, e), rtol: 1e-5, atol: 1e-6, "ResBlock with \(dtype) weights")
        }
    }

    func testStorageAccountingCountsHalfLayerWeightsAtTwoBytes() {
        let b = block(seed: 1, dtype: .float16)
        let weightCount = [b.conv1.weight, b.emb.weight, b.conv2.weight, b.skip.weight].reduce(0) { $0 + $1.count }
        let otherCount = b.parameterCount - weightCount
        XCTAssertEqual(b.parameterStorageByteCount, 4 * (weightCount + otherCount))
        b.storeLayerWeights(in: .float16)
        XCTAssertEqual(b.parameterStorageByteCount, 2 * weightCount + 4 * otherCount)
        XCTAssertEqual(b.parameterCount, weightCount + otherCount, "counting does not change storage")
        XCTAssertEqual(b.parameterStorageByteCount, 2 * weightCount + 4 * otherCount)
        b.storeLayerWeights(in: .float32)
        XCTAssertEqual(b.parameterStorageByteCount, 4 * (weightCount + otherCount))
    }

    /// Counting, freezing and paging in a half model read the stored bytes: no Float32 copy of a
    /// weight is made (the full sv3d_p UNet would need 5.7 GB of them at once for `parameterCount`).
    func testCountingFreezingAndPagingInMakeNoFloat32Copies() {
        let b = block(seed: 2, dtype: .float16)
        let weightCount = [b.conv1.weight, b.emb.weight, b.conv2.weight, b.skip.weight].reduce(0) { $0 + $1.count }
        let count = b.parameterCount
        b.storeLayerWeights(in: .float16)
        let stored = b.conv1.storedWeight
        let before = TensorMemory.live
        TensorMemory.resetPeak()
        XCTAssertEqual(b.parameterCount, count)
        XCTAssertEqual(b.parameterStorageByteCount, 2 * weightCount + 4 * (count - weightCount))
        XCTAssertEqual(b.pageInLayerWeights(), 2 * weightCount)
        b.frozen()
        XCTAssertEqual(TensorMemory.peak, before, "no tensor storage was allocated")
        XCTAssertEqual(b.conv1.storedWeight.dtype, .float16)
        XCTAssertEqual(b.conv1.weight.scalars, stored.float.scalars)
    }

    func testAssigningAHalfWeightKeepsItsPrecisionAndTrainingNeedsFloat32() {
        let layer = Linear(4, 3)
        layer.storeLayerWeights(in: .bfloat16)
        layer.visitParameters { key, t in if key == "weight" { t = Tensor(shape: [3, 4], repeating: 1.5) } }
        XCTAssertEqual(layer.storedWeight.dtype, .bfloat16, "a visit that replaces a half weight stores it back as half")
        XCTAssertEqual(layer.weight.scalars, Array(repeating: 1.5, count: 12))
        layer.weight = Tensor(shape: [3, 4], repeating: 2)
        XCTAssertEqual(layer.storedWeight.dtype, .float32, "setting `weight` stores Float32")
        layer.trainable()
        XCTAssertTrue(layer.weight.requiresGrad)
    }

    func testStreamingLoadKeepsFileHalvesAndChecksKeys() throws {
        let source = block(seed: 3, dtype: .float16)
        var tensors: [String: Tensor] = [:]
        source.visitParameters { k, t in tensors["net." + k] = t }
        let url = temporaryFile()
        try SafeTensors.write(tensors, dtype: .float16, metadata: nil, to: url)
        let file = try SafeTensorsFile(url: url)

        let half = ResBlock(8, 16, 12)
        try half.load(from: file, prefix: "net.", weightPrecision: .float16)
        XCTAssertEqual(half.conv2.storedWeight.dtype, .float16)
        XCTAssertEqual(half.norm1.weight.scalars, source.norm1.weight.scalars, "norms are Float32")
        let trainable = ResBlock(8, 16, 12)
        try trainable.load(from: file, prefix: "net.", weightPrecision: .float32)
        XCTAssertEqual(trainable.conv2.storedWeight.dtype, .float32)
        var g = TorchGenerator(seed: 6)
        let x = g.randn([1, 8, 5, 5]), e = g.randn([1, 12])
        assertClose(half(x, e), source(x, e), rtol: 1e-5, atol: 1e-6, "F16-loaded ResBlock")
        assertClose(trainable(x, e), source(x, e), rtol: 1e-5, atol: 1e-6, "F32-loaded ResBlock")

        // BF16 storage from an F16 file converts per tensor
        let bf = ResBlock(8, 16, 12)
        try bf.load(from: file, prefix: "net.", weightPrecision: .bfloat16)
        XCTAssertEqual(bf.conv1.storedWeight.dtype, .bfloat16)

        // errors name the file and the keys
        tensors["net.extra"] = Tensor(zeros: [2])
        tensors.removeValue(forKey: "net.emb.bias")
        tensors["net.skip.weight"] = Tensor(zeros: [16, 8, 3, 3])
        let broken = temporaryFile()
        try SafeTensors.write(tensors, dtype: .float16, metadata: nil, to: broken)
        XCTAssertThrowsError(try ResBlock(8, 16, 12).load(from: SafeTensorsFile(url: broken), prefix: "net.",
                                                         weightPrecision: .float16)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(broken.path), text)
            XCTAssertTrue(text.contains("missing key net.emb.bias"), text)
            XCTAssertTrue(text.contains("unexpected key net.extra"), text)
            XCTAssertTrue(text.contains("shape mismatch for net.skip.weight: checkpoint [16, 8, 3, 3], model [16, 8, 1, 1]"), text)
        }
    }

    /// A checkpoint may hold tensors of any dtype: F64 and F8 parameters load (converted to
    /// Float32), an integer key the model does not have is an unexpected key, and a parameter
    /// stored as BOOL or I64 is an error naming the key and its dtype.
    func testLoadingUsesFloatDTypesAndNamesTheOthers() throws {
        func bytes<T>(_ values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }
        let weight: [Double] = [0.5, -1.25, 3, 1.0 / 3, 2, -4]
        let url = temporaryFile()
        try SafeTensors.write([
            .init("lin.weight", dtype: .float64, shape: [2, 3], bytes: bytes(weight)),
            .init("lin.bias", dtype: .float8E4M3, shape: [2], bytes: Data([0x38, 0xC0])),  // 1, -2
            .init("lin.num_batches_tracked", dtype: .int64, shape: [], bytes: bytes([Int64(7)])),
        ], to: url)
        let file = try SafeTensorsFile(url: url)
        for precision in [DType.float32, .float16] {
            let layer = Linear(3, 2)
            XCTAssertThrowsError(try layer.load(from: file, prefix: "lin.", weightPrecision: precision)) { error in
                XCTAssertEqual("\(error)".components(separatedBy: "unexpected key").count, 2, "\(error)")
                XCTAssertTrue("\(error)".contains("unexpected key lin.num_batches_tracked []"), "\(error)")
            }
            try layer.load(from: file, prefix: "lin.", weightPrecision: precision, ignoring: ["lin.num_batches_tracked"])
            XCTAssertEqual(layer.storedWeight.dtype, precision)
            XCTAssertEqual(layer.weight.scalars, HalfTensor(Tensor(shape: [2, 3], scalars: weight.map { Float($0) }),
                                                            dtype: precision).float().scalars)
            XCTAssertEqual(layer.bias?.scalars, [1, -2])
        }

        let broken = temporaryFile()
        try SafeTensors.write([
            .init("lin.weight", dtype: .bool, shape: [2, 3], bytes: Data([1, 0, 1, 1, 0, 0])),
            .init("lin.bias", dtype: .int64, shape: [2], bytes: bytes([Int64(1), 2])),
        ], to: broken)
        XCTAssertThrowsError(try Linear(3, 2).load(from: SafeTensorsFile(url: broken), prefix: "lin.")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("tensor 'lin.weight': dtype BOOL cannot be used as a Float32 tensor"), text)
            XCTAssertTrue(text.contains("tensor 'lin.bias': dtype I64 cannot be used as a Float32 tensor"), text)
            XCTAssertTrue(text.contains(broken.path), text)
        }
    }
}
