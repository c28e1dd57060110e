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

    /// The fixture at `url`, read once per test process and shared by the tests that call this.
    /// Tests load with `try` (not `try!` in a static), so an unreadable file fails the tests that
    /// need it, with the reader's error naming the file, instead of crashing the whole run.
    public static func cached(_ url: URL) throws -> Fixture {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let fixture = cache[url.standardizedFileURL] { return fixture }
        let fixture = try Fixture(url)
        cache[url.standardizedFileURL] = fixture
        return fixture
    }

    private static var cache: [URL: Fixture] = [:]
    private static let cacheLock = NSLock()

    /// The tensor under `key`; a missing key is a test-authoring error, reported with the file.
    public subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else {
            preconditionFailure("fixture \(url.lastPathComponent) has no key \(key)")
        }
        return t
    }
}
