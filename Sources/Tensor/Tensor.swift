// The tensor value type: a shape over contiguous row-major Float32 storage (PyTorch's default
// layout, so NCHW / (B·T)CHW activations and OIHW weights match checkpoints and fixtures as they
// are). Reshapes and leading-axis slices are views that share storage; every other op writes a new
// tensor. Float16/BFloat16 live only in files and in `HalfTensor` storage (see DType.swift);
// arithmetic is always Float32.
//
// Shorthands used across the engine: B batch, T frames, C channels, H/W height/width, N tokens,
// D head width. Video activations are "frames-flattened" (B·T, C, H, W) as in sgm.

import CKernels
import Foundation

/// Contiguous Float32 buffer shared by a tensor and its views.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Keeps memory that someone else owns (a mapped file) alive while the storage is used.
    private let owner: AnyObject?

    /// Owned storage of `count` floats. Zeroed storage comes from `calloc`, whose large blocks are
    /// fresh pages that read as zero without being touched, so a model built with zero weights
    /// (then loaded, possibly into half storage) commits no memory for them. (Under
    /// `MemoryPolicy.retainFreedMemory` large blocks come from the heap, which glibc clears on
    /// reuse: build and load models before turning that policy on.)
    public init(count: Int, zeroed: Bool = true) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = zeroed ? calloc(1, bytes) : malloc(bytes)
        guard let raw else { fatalError("cannot allocate \(bytes) bytes for a tensor") }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        owner = nil
        ck_tensor_bytes_add(Int64(bytes))
    }

    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
    }

    deinit {
        if owner == nil {
            free(pointer)
            ck_tensor_bytes_add(-Int64(max(count, 1) * MemoryLayout<Float>.stride))
        }
    }
}

public struct Tensor: CustomStringConvertible {
    public let shape: [Int]
    public let storage: TensorStorage
    /// Offset of element 0 in `storage`, for views.
    public let offset: Int
    /// Set when this tensor takes part in a recorded computation (see Autograd.swift).
    public internal(set) var gradNode: GradNode?

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
    public var description: String { "Tensor\(shape)" }

    /// Uninitialised-to-zero tensor of `shape`.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
        offset = 0
    }

    /// A tensor whose contents the caller fills right away (skips zeroing).
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *), zeroed: false)
        offset = 0
    }

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self.init(uninitialized: shape)
        scalars.withUnsafeBufferPointer { src in
            storage.pointer.update(from: src.baseAddress!, count: scalars.count)
        }
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        storage.pointer.initialize(repeating: value, count: count)
    }

    public init(_ scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    public init(storage: TensorStorage, shape: [Int], offset: Int = 0) {
        precondition(offset + shape.reduce(1, *) <= storage.count, "view out of storage bounds")
        self.storage = storage
        self.shape = shape
        self.offset = offset
    }

    /// Pointer to element 0. Mutating through it is allowed only for tensors the caller just made.
    @inlinable public var data: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// The elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item of a tensor with \(count) elements")
        return data[0]
    }

    /// A new tensor with the same shape and its own copy of the elements (no gradient history).
    public func copied() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.data.update(from: data, count: count)
        return out
    }

    /// Same elements without gradient history (PyTorch's `detach`).
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, offset: offset)
    }

    /// Number of elements after axis `axis` (exclusive): the row stride of that axis.
    @inlinable public func innerCount(after axis: Int) -> Int {
        var s = 1
        for d in (axis + 1)..<rank { s *= shape[d] }
        return s
    }

    /// Normalises a possibly negative axis.
    @inlinable public func axis(_ a: Int) -> Int {
        let r = a < 0 ? a + rank : a
        precondition(r >= 0 && r < rank, "axis \(a) out of range for rank \(rank)")
        return r
    }
}

extension Tensor {
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(zeros: shape) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }
    public static func zeros(like t: Tensor) -> Tensor { Tensor(zeros: t.shape) }
    public static func ones(like t: Tensor) -> Tensor { Tensor(shape: t.shape, repeating: 1) }

    /// [start, start + step, ...) with `count` elements.
    public static func arange(_ count: Int, start: Float = 0, step: Float = 1) -> Tensor {
        Tensor(shape: [count], scalars: (0..<count).map { start + Float($0) * step })
    }
}
