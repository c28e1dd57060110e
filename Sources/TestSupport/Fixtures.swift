// Loading PyTorch parity fixtures (safetensors files written by Scripts/fixtures/*.py).

import Foundation
import Tensor

/// A fixture file: every tensor by key, as Float32.
public struct Fixture {
    public let url: URL
    public let tensors: [String: Tensor]

    public init(_ url: URL) throws {
        self.url = url
        tensors = try SafeTensorsFile(url: url).tensors()
    }

    /// The tensor under `key`; a missing key is a test-authoring error, reported with the file.
    public subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else {
            preconditionFailure("fixture \(url.lastPathComponent) has no key \(key)")
        }
        return t
    }
}
