// Layer weights that inference may keep in half precision. Linear, Conv2d and the temporal
// convolutions hold almost all parameters of the video models (sv3d_p's UNet: 1.5B), so keeping
// them as F16/BF16 halves the resident weights; they are widened to Float32 just before each
// GEMM (a transient tensor the size of one layer's weight), so all arithmetic stays Float32.
// Norms, biases and embeddings stay Float32 (they are small). Half storage is inference-only:
// training loads with `weightPrecision: .float32`, and marking a half weight trainable fails.
//
// Module visiting hands every parameter to a closure as `inout Tensor`. A half weight is visited
// as its widened value; a `LayerWeightVisit` context (task-local, set by `Module.load(from:...)`
// and `Module.storeLayerWeights(in:)`) lets the closure at the root of the visit learn that a slot
// is a layer weight and hand it a replacement in storage form, so loading an F16 file into F16
// storage never widens anything (the weight is a zero-copy view of the mapped file).

import Foundation
import Tensor

/// A layer's weight, stored as a Float32 tensor (the default; trainable) or as F16/BF16 bytes.
public struct LayerWeight {
    public enum Storage {
        case float(Tensor)
        case half(HalfTensor)
    }

    public private(set) var storage: Storage

    public init(_ tensor: Tensor) { storage = .float(tensor) }
    public init(_ half: HalfTensor) { storage = half.dtype == .float32 ? .float(half.float()) : .half(half) }

    public var shape: [Int] {
        switch storage {
        case .float(let t): return t.shape
        case .half(let h): return h.shape
        }
    }

    public var dtype: DType {
        switch storage {
        case .float: return .float32
        case .half(let h): return h.dtype
        }
    }

    /// Bytes this weight keeps resident (4 per element in Float32, 2 in F16/BF16).
    public var storageByteCount: Int { shape.reduce(1, *) * dtype.byteCount }

    /// The Float32 value: the tensor itself, or a new widened copy of the half bytes (transient:
    /// callers use it for one op and drop it).
    public var float: Tensor {
        switch storage {
        case .float(let t): return t
        case .half(let h): return h.float()
        }
    }

    /// This weight stored as `dtype` (Float32 keeps or widens; F16/BF16 round to nearest even).
    public func stored(as dtype: DType) -> LayerWeight {
        switch (storage, dtype) {
        case (.float, .float32): return self
        case (.half(let h), _) where h.dtype == dtype: return self
        case (_, .float32): return LayerWeight(float)
        default: return LayerWeight(HalfTensor(float, dtype: dtype))
        }
    }
}

private var pageInChecksum: UInt8 = 0

/// The context of one visit over a module's parameters that may change how layer weights are
/// stored (task-local; see the file comment). Loading sets `precision` and answers
/// `layerWeightDType != nil` slots through `replacement`.
public final class LayerWeightVisit {
    /// Layer weights that a visit's closure does not see (so no half weight is widened for it).
    public enum Bypass {
        /// Every layer weight goes to this closure instead, as stored (counting, paging in).
        case all((LayerWeight) -> Void)
        /// Half-stored layer weights are skipped (they are inference-only constants already);
        /// Float32 ones are visited as usual.
        case half
    }

    /// Storage for every layer weight after the visit; nil keeps each weight's current storage.
    public let precision: DType?
    /// nil: every layer weight is visited as its Float32 value.
    public let bypass: Bypass?
    /// While the visit's closure runs for a layer weight: that weight's storage dtype; nil while it
    /// runs for any other parameter.
    public fileprivate(set) var layerWeightDType: DType?
    /// Set by the visit's closure for a layer-weight slot instead of assigning the tensor: the new
    /// value in storage form (stored as `precision`, zero-copy when the dtypes agree).
    public var replacement: HalfTensor?

    public init(precision: DType?, bypass: Bypass? = nil) {
        self.precision = precision
        self.bypass = bypass
    }

    @TaskLocal public static var current: LayerWeightVisit?
}

extension Module {
    /// Visits `weight` under `key` as a Float32 tensor, honouring the current `LayerWeightVisit`:
    /// a replacement handed over in storage form is kept as is; a replaced tensor is stored back
    /// in the weight's precision (or the visit's); an untouched weight is converted only when the
    /// visit asks for another precision.
    public func visit(_ weight: inout LayerWeight, _ key: String, _ body: (String, inout Tensor) -> Void) {
        let context = LayerWeightVisit.current
        switch context?.bypass {
        case .all(let observe)?: observe(weight); return
        case .half? where weight.dtype != .float32: return
        default: break
        }
        context?.layerWeightDType = weight.dtype
        context?.replacement = nil
        defer { context?.layerWeightDType = nil; context?.replacement = nil }
        let before = weight.float
        var t = before
        body(key, &t)
        if let replacement = context?.replacement {
            weight = LayerWeight(replacement).stored(as: context?.precision ?? replacement.dtype)
            return
        }
        let replaced = t.storage !== before.storage || t.offset != before.offset || t.shape != before.shape
        if case .half = weight.storage {
            precondition(t.gradNode == nil,
                         "\(key) is stored in \(weight.dtype), which is inference-only: load with weightPrecision: .float32 to train")
        }
        if replaced || t.gradNode != nil {
            weight = t.gradNode != nil || weight.dtype == .float32 ? LayerWeight(t) : LayerWeight(t).stored(as: weight.dtype)
        }
        if let precision = context?.precision { weight = weight.stored(as: precision) }
    }

    /// Stores every layer weight (Linear, Conv2d, temporal convolution weights) as `dtype`;
    /// other parameters stay Float32. `.float32` makes the module trainable again.
    public func storeLayerWeights(in dtype: DType) {
        LayerWeightVisit.$current.withValue(LayerWeightVisit(precision: dtype)) {
            visitParameters { _, _ in }
        }
    }

    /// Bytes held by the parameters: layer weights at their storage dtype, the rest as Float32.
    /// Reads no weight values.
    public var parameterStorageByteCount: Int {
        var total = 0
        visitBypassingLayerWeights(body: { _, t in total += t.count * DType.float32.byteCount },
                                   layerWeight: { total += $0.storageByteCount })
        return total
    }

    /// The number of parameters (elements), without reading any weight values.
    public var parameterCount: Int {
        var total = 0
        visitBypassingLayerWeights(body: { _, t in total += t.count }, layerWeight: { total += $0.shape.reduce(1, *) })
        return total
    }

    /// Reads every byte page of the stored layer weights once and returns how many bytes that is,
    /// so a model loaded zero-copy from a mapped file is resident afterwards (memory measurements).
    @discardableResult
    public func pageInLayerWeights() -> Int {
        var total = 0, checksum: UInt8 = 0
        visitBypassingLayerWeights(body: { _, _ in }, layerWeight: { weight in
            switch weight.storage {
            case .float(let t):
                total += t.count * 4
                for i in stride(from: 0, to: t.count, by: 1024) { checksum &+= UInt8(truncatingIfNeeded: t.data[i].bitPattern) }
            case .half(let h):
                total += h.byteCount
                h.withUnsafeBytes { bytes in
                    for i in stride(from: 0, to: bytes.count, by: 4096) { checksum &+= bytes[i] }
                }
            }
        })
        pageInChecksum = checksum  // a global write keeps the reads from being optimised away
        return total
    }

    /// Visits the non-layer-weight parameters with `body` and hands every layer weight, as
    /// stored, to `layerWeight`.
    func visitBypassingLayerWeights(body: (String, inout Tensor) -> Void, layerWeight: @escaping (LayerWeight) -> Void) {
        LayerWeightVisit.$current.withValue(LayerWeightVisit(precision: nil, bypass: .all(layerWeight))) {
            visitParameters(body)
        }
    }

    /// Loads every parameter from `file` under `prefix` + its key, tensor by tensor (no Float32
    /// copy of the whole checkpoint is made): layer weights are stored as `weightPrecision` (F16 or
    /// BF16 file data of that dtype is used in place, zero-copy), other parameters as Float32.
    /// Strict as `load(_:ignoring:)`: every parameter present with its shape, and every file key
    /// under `ownedPrefixes` (default: `prefix`) used unless in `ignoring` (full file keys); keys
    /// elsewhere in the file belong to other models and are not looked at. Errors name the file and
    /// the keys. A parameter whose file dtype is not a float one (I64, BOOL, ...) is an error naming
    /// the key and the dtype; F64 and F8 data are converted to Float32.
    public func load(from file: SafeTensorsFile, prefix: String = "", weightPrecision: DType = .float32,
                     ignoring: Set<String> = [], checkingKeysUnder ownedPrefixes: [String]? = nil) throws {
        var problems: [String] = []
        var used = Set<String>()
        let context = LayerWeightVisit(precision: weightPrecision)
        LayerWeightVisit.$current.withValue(context) {
            visitParameters { key, t in
                let fileKey = prefix + key
                guard file.contains(fileKey) else { problems.append("missing key \(fileKey) \(t.shape)"); return }
                used.insert(fileKey)
                do {
                    let stored = try file.stored(fileKey)
                    guard stored.shape == t.shape else {
                        problems.append("shape mismatch for \(fileKey): checkpoint \(stored.shape), model \(t.shape)")
                        return
                    }
                    if context.layerWeightDType != nil, weightPrecision != .float32 {
                        context.replacement = stored.dtype == weightPrecision
                            ? stored : HalfTensor(stored.float(), dtype: weightPrecision)
                    } else {
                        t = stored.float()
                    }
                } catch {
                    problems.append("\(error)")
                }
            }
        }
        let owned = ownedPrefixes ?? [prefix]
        for key in file.keys where owned.contains(where: { key.hasPrefix($0) }) && !used.contains(key) && !ignoring.contains(key) {
            problems.append("unexpected key \(key) \((try? file.info(key).shape) ?? [])")
        }
        if !problems.isEmpty { throw WeightLoadingError(problems: problems, file: file.path) }
    }
}
