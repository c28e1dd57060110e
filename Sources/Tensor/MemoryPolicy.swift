// Allocator policy for large-tensor work. Activations of the video models are tens to hundreds of
// MB each; glibc serves such blocks with fresh mmaps and unmaps them on free, so every new tensor
// is page-faulted in again (measured: a [21,320,72,72] add takes 0.08 s that way, 0.02 s from
// retained heap memory, and an SVD ResBlock 4.2 s against 2.8 s). Keeping freed memory in the heap
// (no mmap for large blocks, no trimming) removes that cost at the price of a process that keeps
// its peak footprint until it exits, which is what a sampling or training run wants.

import CKernels
import Foundation

public enum MemoryPolicy {
    /// Keep freed memory in the malloc heap for the rest of the process (glibc; no-op elsewhere).
    public static func retainFreedMemory() {
        #if os(Linux)
        _ = glibcMallopt(-4, 0)          // M_MMAP_MAX: never serve blocks with mmap
        _ = glibcMallopt(-1, Int32.max)  // M_TRIM_THRESHOLD: never give memory back
        _ = glibcMallopt(-2, 1 << 29)    // M_TOP_PAD: grow the heap 512 MB at a time
        #endif
    }
}

#if os(Linux)
/// glibc `mallopt` (declared in malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt")
func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// The bytes of tensor storage this process owns (allocated by `TensorStorage`; mapped files and
/// kernel scratch are not counted). Unlike the resident set, these are the live tensors alone,
/// without the allocator's slack, so `peak` says what a computation itself holds at its worst.
public enum TensorMemory {
    public static var live: Int { Int(ck_tensor_bytes_live()) }
    public static var peak: Int { Int(ck_tensor_bytes_peak()) }
    /// Starts a new peak measurement from the bytes live now.
    public static func resetPeak() { ck_tensor_bytes_reset_peak() }
}
