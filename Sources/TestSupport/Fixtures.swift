// Loading PyTorch parity fixtures (safetensors files written by Scripts/fixtures/*.py).

import Foundation
import Tensor

/// A fixture file: float tensors by key.
public struct Fixture {
    public let url: URL
    public let tensors: [String: Tensor]

    /// TEMPORARY minimal F32 reader until SafeTensorsFile lands in Tensor.
    public init(_ url: URL) throws {
        self.url = url
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let header = try JSONSerialization.jsonObject(with: data[8..<(8 + Int(headerLength))]) as! [String: Any]
        var out: [String: Tensor] = [:]
        let base = 8 + Int(headerLength)
        for (key, value) in header where key != "__metadata__" {
            let entry = value as! [String: Any]
            let shape = entry["shape"] as! [Int]
            let offsets = entry["data_offsets"] as! [Int]
            let floats = data[(base + offsets[0])..<(base + offsets[1])].withUnsafeBytes {
                Array($0.bindMemory(to: Float.self))
            }
            out[key] = Tensor(shape: shape, scalars: floats)
        }
        tensors = out
    }

    public subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else { fatalError("fixture \(url.lastPathComponent) has no key \(key)") }
        return t
    }
}
