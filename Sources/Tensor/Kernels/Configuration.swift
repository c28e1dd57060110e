// The kernels' tuning knobs in one value. They trade memory for speed and never change what an op
// computes, only the last bits of its float summation order (a band or chunk boundary moves which
// partial sums meet). The kernel functions take these as explicit parameters; the ops read
// `KernelConfiguration.current` once when they run and hand the values down (an op's backward
// uses the configuration its forward ran with).

import Foundation

public struct KernelConfiguration: Sendable, Equatable {
    /// Rows of queries per work unit of the chunked attention (Kernels/Attention.swift); the
    /// backward pass recomputes probabilities for this many queries at a time.
    public var attentionQueryChunk: Int {
        didSet { precondition(attentionQueryChunk > 0, "attentionQueryChunk \(attentionQueryChunk) must be positive") }
    }
    /// Keys per block of the attention's online softmax: the score tile is
    /// attentionQueryChunk·attentionKeyBlock floats per worker.
    public var attentionKeyBlock: Int {
        didSet { precondition(attentionKeyBlock > 0, "attentionKeyBlock \(attentionKeyBlock) must be positive") }
    }
    /// Largest im2col scratch buffer (in floats) the forward convolution of one image uses: 8M
    /// floats = 32 MB by default. Larger images are convolved in bands of output rows, each band
    /// one im2col and one GEMM writing its columns of the output in place, so the scratch does not
    /// grow with the image (a whole-image im2col of the VAE decoder's 128-channel 3x3 convolution
    /// at 576x576 is 1.5 GB). A band is never narrower than one output row.
    public var im2colScratchLimit: Int {
        didSet { precondition(im2colScratchLimit > 0, "im2colScratchLimit \(im2colScratchLimit) must be positive") }
    }

    public init(attentionQueryChunk: Int = 256, attentionKeyBlock: Int = 512, im2colScratchLimit: Int = 8 << 20) {
        precondition(attentionQueryChunk > 0 && attentionKeyBlock > 0 && im2colScratchLimit > 0,
                     "KernelConfiguration: chunk \(attentionQueryChunk), key block \(attentionKeyBlock), "
                     + "scratch \(im2colScratchLimit) must all be positive")
        self.attentionQueryChunk = attentionQueryChunk
        self.attentionKeyBlock = attentionKeyBlock
        self.im2colScratchLimit = im2colScratchLimit
    }

    /// The defaults, with SVDMV_ATTENTION_CHUNK and SVDMV_ATTENTION_KEY_BLOCK (positive integers)
    /// from the environment in their place; read once per process.
    public static let standard: KernelConfiguration = {
        func positive(_ name: String) -> Int? {
            guard let s = ProcessInfo.processInfo.environment[name], let n = Int(s), n > 0 else { return nil }
            return n
        }
        var configuration = KernelConfiguration()
        if let n = positive("SVDMV_ATTENTION_CHUNK") { configuration.attentionQueryChunk = n }
        if let n = positive("SVDMV_ATTENTION_KEY_BLOCK") { configuration.attentionKeyBlock = n }
        return configuration
    }()

    /// The configuration ops use: `standard`, unless a caller runs them inside
    /// `KernelConfiguration.$current.withValue(other) { ... }`. Task-local (and thread-local
    /// outside tasks), so a scope set by one caller never reaches another's ops; it covers the
    /// ops run in the closure and in its child tasks, not ops on threads the closure hands work to
    /// (a DispatchQueue, say), which see `standard`.
    @TaskLocal public static var current: KernelConfiguration = .standard
}
