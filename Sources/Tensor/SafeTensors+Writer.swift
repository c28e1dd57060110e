// safetensors writing, laid out byte for byte as the reference writer (safetensors 0.8,
// `safetensors.torch.save_file`) does: tensors ordered by dtype rank descending (the Rust `Dtype`
// enum order, SafeTensorsDType's case order: ... F16 < BF16 < ... < F32 < ...) then by name bytewise; data packed in that order without gaps; compact
// JSON in serde_json's spelling; the header padded with spaces to a multiple of 8 bytes.
// Difference: the reference writes `__metadata__` keys in hash order (random per process); we sort
// them, so files agree byte for byte whenever the metadata has at most one key.

import FileSupport
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SafeTensors {
    /// One tensor to write: Float32 values converted to `dtype` while writing, bytes already
    /// stored in a dtype, or the bytes of any dtype of the format.
    public struct Entry {
        public let name: String
        let source: Source

        enum Source {
            case tensor(Tensor, DType)
            case stored(HalfTensor)
            case bytes(Data, SafeTensorsDType, [Int])
        }

        public init(_ name: String, _ tensor: Tensor, dtype: DType = .float32) {
            self.name = name
            source = .tensor(tensor, dtype)
        }

        public init(_ name: String, _ stored: HalfTensor) {
            self.name = name
            source = .stored(stored)
        }

        /// `bytes` as the file is to store them (row-major, little-endian elements; F4 and F6
        /// packed): the writer checks that they are `shape`'s elements of `dtype`.
        public init(_ name: String, dtype: SafeTensorsDType, shape: [Int], bytes: Data) {
            self.name = name
            source = .bytes(bytes, dtype, shape)
        }

        public var dtype: SafeTensorsDType {
            switch source {
            case .tensor(_, let dtype): return SafeTensorsDType(dtype)
            case .stored(let h): return SafeTensorsDType(h.dtype)
            case .bytes(_, let dtype, _): return dtype
            }
        }

        public var shape: [Int] {
            switch source {
            case .tensor(let t, _): return t.shape
            case .stored(let h): return h.shape
            case .bytes(_, _, let shape): return shape
            }
        }

        var byteCount: Int {
            if case .bytes(let data, _, _) = source { return data.count }
            return dtype.byteCount(elements: shape.reduce(1, *))!
        }

        /// Calls `body` with this entry's bytes in its dtype (converting a Float32 tensor first).
        func withBytes(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
            switch source {
            case .stored(let h):
                try h.withUnsafeBytes(body)
            case .tensor(let t, .float32):
                try body(UnsafeRawBufferPointer(start: t.data, count: t.count * 4))
            case .tensor(let t, let dtype):
                try HalfTensor(t, dtype: dtype).withUnsafeBytes(body)
            case .bytes(let data, _, _):
                try data.withUnsafeBytes(body)
            }
        }
    }

    /// Writes `entries` to `url` atomically (a temporary file renamed into place), converting each
    /// Float32 tensor to its dtype as it is written, so only one converted tensor is in memory.
    public static func write(_ entries: [Entry], metadata: [String: String]? = nil, to url: URL) throws {
        let layout = try Layout(entries, metadata: metadata, file: url.path)
        try writeAtomically(to: url) { tmp in
            let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else {
                throw SafeTensorsError(.io, file: url.path, "cannot create: \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            let put = { (bytes: UnsafeRawBufferPointer) throws in
                try writeAll(fd, bytes, file: url.path)
            }
            try layout.prefix.withUnsafeBytes(put)
            for entry in layout.ordered { try entry.withBytes(put) }
        }
    }

    /// Writes Float32 tensors, each stored as `dtypes[name]` or else `dtype`.
    public static func write(_ tensors: [String: Tensor], dtype: DType = .float32,
                             dtypes: [String: DType] = [:], metadata: [String: String]? = nil,
                             to url: URL) throws {
        let entries = tensors.map { Entry($0.key, $0.value, dtype: dtypes[$0.key] ?? dtype) }
        try write(entries, metadata: metadata, to: url)
    }

    /// Writes every tensor of `source` to `url`: the floating-point ones as `dtype`, the others
    /// (integers, BOOL, the dtypes nothing here computes with) byte for byte as they are, so a
    /// checkpoint's counters and masks survive a conversion. Returns how many of each.
    @discardableResult
    public static func write(converting source: SafeTensorsFile, to dtype: DType, metadata: [String: String]?,
                             to url: URL) throws -> (converted: Int, copied: Int) {
        var entries: [Entry] = []
        var copied = 0
        for key in source.keys {
            let info = try source.info(key)
            if info.dtype.convertsToFloat32 {
                entries.append(Entry(key, try source.tensor(key), dtype: dtype))
            } else {
                entries.append(Entry(key, dtype: info.dtype, shape: info.shape, bytes: try source.bytes(key)))
                copied += 1
            }
        }
        try write(entries, metadata: metadata, to: url)
        return (entries.count - copied, copied)
    }

    /// The safetensors image of `entries` in memory.
    public static func encode(_ entries: [Entry], metadata: [String: String]? = nil) throws -> Data {
        let layout = try Layout(entries, metadata: metadata, file: "<memory>")
        var data = layout.prefix
        for entry in layout.ordered { entry.withBytes { data.append(contentsOf: $0) } }
        return data
    }

    /// Tensor order and the 8-byte length plus padded JSON header.
    struct Layout {
        let ordered: [Entry]
        let prefix: Data

        init(_ entries: [Entry], metadata: [String: String]?, file: String) throws {
            var seen = Set<String>()
            for entry in entries {
                guard entry.name != "__metadata__" else {
                    throw SafeTensorsError(.name, file: file, tensor: entry.name, "is a reserved name")
                }
                guard seen.insert(entry.name).inserted else {
                    throw SafeTensorsError(.name, file: file, tensor: entry.name, "given twice")
                }
                if case .bytes(let data, let dtype, let shape) = entry.source {
                    let count = shape.reduce(Optional(1)) { (product: Int?, d: Int) -> Int? in
                        guard let product, d >= 0 else { return nil }
                        let (value, overflow) = product.multipliedReportingOverflow(by: d)
                        return overflow ? nil : value
                    }
                    guard let count, let needed = dtype.byteCount(elements: count), needed == data.count else {
                        throw SafeTensorsError(.sizeMismatch, file: file, tensor: entry.name,
                                               "\(data.count) bytes are not the elements of shape \(shape) of \(dtype)")
                    }
                }
            }
            ordered = entries.sorted { a, b in
                if a.dtype.writerRank != b.dtype.writerRank { return a.dtype.writerRank > b.dtype.writerRank }
                return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
            }
            var json = "{"
            var fields = [String]()
            if let metadata {
                let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                    .map { "\(jsonString($0.key)):\(jsonString($0.value))" }
                fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
            }
            var offset = 0
            for entry in ordered {
                let end = offset + entry.byteCount
                let shape = entry.shape.map(String.init).joined(separator: ",")
                fields.append("\(jsonString(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\","
                              + "\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
                offset = end
            }
            json += fields.joined(separator: ",") + "}"
            var header = Array(json.utf8)
            header += Array(repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
            var prefix = Data()
            withUnsafeBytes(of: UInt64(header.count).littleEndian) { prefix.append(contentsOf: $0) }
            prefix.append(contentsOf: header)
            self.prefix = prefix
        }
    }

    /// A JSON string literal spelled as serde_json writes it (UTF-8 kept, `\u00xx` for controls).
    static func jsonString(_ text: String) -> String {
        var out = [UInt8(ascii: "\"")]
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    private static func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(fd, p, n)
        #else
        return Darwin.write(fd, p, n)
        #endif
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, file: String) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(.io, file: file, "write failed: \(String(cString: strerror(errno)))")
            }
            p += n
            left -= n
        }
    }
}
