// The allocator policy as a shared option group (see Tensor's MemoryPolicy for the reasons and
// the measurements): on by default for every command that moves large tensors or images.

import ArgumentParser
import Tensor

struct MemoryOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo, help: "Keep freed memory in the malloc heap (faster; glibc only).")
    var retainMemory = true

    func apply() {
        if retainMemory { MemoryPolicy.retainFreedMemory() }
    }
}
