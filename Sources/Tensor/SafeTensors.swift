// safetensors reading (format: huggingface/safetensors, docs "Format"): an 8-byte little-endian
// header length N, N bytes of JSON header, then the data section. The header maps each tensor name
// to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data section) plus an
// optional "__metadata__" object of string values.
//
// `SafeTensorsFile` maps the file (private, copy-on-write: the file is opened read-only and never
// changed), validates the whole header up front, and converts nothing until a tensor is asked for.
// Every problem a file can have is a thrown `SafeTensorsError` naming the file and the tensor.
// Every dtype of the format is read (SafeTensorsDType.swift): any tensor's bytes, integer tensors'
// values, and Float32 tensors from the float dtypes; asking for a tensor in a form its dtype
// cannot give (a Float32 tensor from I64 data, say) is an error naming the tensor and its dtype.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Errors

/// A safetensors file (or buffer) that cannot be read or written, with the file and tensor named.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file cannot be opened, mapped or written.
        case io
        /// The 8-byte header length is missing, too large, or runs past the end of the file.
        case headerLength
        /// The header is not UTF-8 JSON holding an object.
        case headerJSON
        /// A header entry lacks a field or has one of the wrong type (including `__metadata__`).
        case field
        /// A dtype name the format does not define.
        case unsupportedDType
        /// A tensor asked for in a form its dtype cannot give: as Float32 from an integer, BOOL,
        /// complex or sub-byte dtype, or as integers from a float dtype.
        case unusableDType
        /// A shape with negative or non-integer dimensions, or too many elements.
        case shape
        /// data_offsets out of order or outside the data section.
        case offsets
        /// Two tensors' byte ranges overlap.
        case overlap
        /// The byte range does not hold product(shape) elements of the dtype (or, for the sub-byte
        /// dtypes, they do not fill whole bytes).
        case sizeMismatch
        /// No tensor of that name.
        case missingTensor
        /// A name given to the writer twice, or the reserved name `__metadata__`.
        case name
    }

    public let kind: Kind
    /// The file path (or the name given to an in-memory buffer).
    public let file: String
    /// The tensor (or header field such as `__metadata__`) concerned, if any.
    public let tensor: String?
    public let message: String

    public init(_ kind: Kind, file: String, tensor: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.message = message
    }

    public var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(message)" }
        return "\(file): \(message)"
    }
}

// MARK: - Memory

/// Bytes that outlive the values pointing into them: a private mapping of a file, or a buffer.
final class ByteRegion: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int
    private let isMapped: Bool

    init(allocating count: Int) {
        base = .allocate(byteCount: max(count, 1), alignment: 64)
        self.count = count
        isMapped = false
    }

    convenience init(copying data: Data) {
        self.init(allocating: data.count)
        data.copyBytes(to: base.assumingMemoryBound(to: UInt8.self), count: data.count)
    }

    /// Maps `path` read-only from the file's point of view: pages are private and copy-on-write,
    /// so an accidental store into a zero-copy tensor cannot fault or reach the file.
    init(mapping path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw SafeTensorsError(.io, file: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SafeTensorsError(.io, file: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(.io, file: path, "is not a regular file")
        }
        let size = Int(info.st_size)
        guard size >= 8 else {
            throw SafeTensorsError(.headerLength, file: path,
                                   "file is \(size) bytes, too short for the 8-byte header length")
        }
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw SafeTensorsError(.io, file: path, "cannot map: \(String(cString: strerror(errno)))")
        }
        base = mapped
        count = size
        isMapped = true
    }

    deinit {
        if isMapped { munmap(base, count) } else { base.deallocate() }
    }
}

// MARK: - Header

/// One tensor's header entry.
public struct SafeTensorInfo: Sendable, Equatable {
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range within the data section (after the header).
    public let dataOffsets: Range<Int>

    public var count: Int { shape.reduce(1, *) }
    /// Bytes the elements take in the file.
    public var byteCount: Int { dataOffsets.count }
}

/// The parsed, validated header.
struct SafeTensorsHeader {
    /// Largest header accepted, as the reference implementation (100 MB).
    static let maxHeaderByteCount = 100_000_000

    var headerByteCount: Int
    var metadata: [String: String]?
    var tensors: [String: SafeTensorInfo]

    /// Parses the 8-byte length and the JSON header of `bytes` and checks every entry against the
    /// data section that follows it.
    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> SafeTensorsHeader {
        guard bytes.count >= 8, let base = bytes.baseAddress else {
            throw SafeTensorsError(.headerLength, file: file,
                                   "\(bytes.count) bytes, too short for the 8-byte header length")
        }
        let declared = base.loadUnaligned(as: UInt64.self).littleEndian
        guard declared <= UInt64(maxHeaderByteCount) else {
            throw SafeTensorsError(.headerLength, file: file,
                                   "header length \(declared) exceeds the \(maxHeaderByteCount)-byte limit")
        }
        let n = Int(declared)
        guard n <= bytes.count - 8 else {
            throw SafeTensorsError(.headerLength, file: file,
                                   "header length \(n) runs past the end of the file (\(bytes.count) bytes)")
        }
        guard n >= 2, base.load(fromByteOffset: 8, as: UInt8.self) == UInt8(ascii: "{") else {
            throw SafeTensorsError(.headerJSON, file: file, "header does not start with '{'")
        }
        let json = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base + 8), count: n, deallocator: .none)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json, options: [])
        } catch {
            throw SafeTensorsError(.headerJSON, file: file,
                                   "header is not valid JSON: \(jsonErrorText(error))")
        }
        guard let entries = object as? [String: Any] else {
            throw SafeTensorsError(.headerJSON, file: file, "header is not a JSON object")
        }
        let dataByteCount = bytes.count - 8 - n
        var header = SafeTensorsHeader(headerByteCount: n, metadata: nil, tensors: [:])
        for name in entries.keys.sorted() {
            let value = entries[name]!
            if name == "__metadata__" {
                header.metadata = try parseMetadata(value, file: file)
            } else {
                header.tensors[name] = try parseEntry(value, name: name, dataByteCount: dataByteCount,
                                                      file: file)
            }
        }
        try checkOverlaps(header.tensors, file: file)
        return header
    }

    private static func parseMetadata(_ value: Any, file: String) throws -> [String: String] {
        guard let object = value as? [String: Any] else {
            throw SafeTensorsError(.field, file: file, tensor: "__metadata__", "is not a JSON object")
        }
        var metadata = [String: String]()
        for (key, item) in object {
            guard let text = item as? String else {
                throw SafeTensorsError(.field, file: file, tensor: "__metadata__",
                                       "value of '\(key)' is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(_ value: Any, name: String, dataByteCount: Int,
                                   file: String) throws -> SafeTensorInfo {
        func fail(_ kind: SafeTensorsError.Kind, _ message: String) -> SafeTensorsError {
            SafeTensorsError(kind, file: file, tensor: name, message)
        }
        guard let entry = value as? [String: Any] else { throw fail(.field, "entry is not a JSON object") }
        guard let dtypeValue = entry["dtype"] else { throw fail(.field, "missing field 'dtype'") }
        guard let dtypeName = dtypeValue as? String else { throw fail(.field, "field 'dtype' is not a string") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail(.unsupportedDType, "dtype \(dtypeName) is not a safetensors dtype (\(known))")
        }
        guard let shapeValue = entry["shape"] else { throw fail(.field, "missing field 'shape'") }
        guard let shapeItems = shapeValue as? [Any] else { throw fail(.field, "field 'shape' is not an array") }
        var shape = [Int]()
        var count = 1
        for item in shapeItems {
            guard let d = integer(item), d >= 0 else {
                throw fail(.shape, "shape \(jsonText(shapeItems)) has a dimension that is not a non-negative integer")
            }
            shape.append(d)
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail(.shape, "shape \(shape) has too many elements") }
            count = product
        }
        guard let offsetsValue = entry["data_offsets"] else { throw fail(.field, "missing field 'data_offsets'") }
        guard let offsetItems = offsetsValue as? [Any], offsetItems.count == 2,
              let begin = integer(offsetItems[0]), let end = integer(offsetItems[1]), begin >= 0, end >= 0
        else {
            throw fail(.field, "field 'data_offsets' \(jsonText(offsetsValue)) is not two non-negative integers")
        }
        guard begin <= end else { throw fail(.offsets, "data_offsets [\(begin), \(end)] end before they begin") }
        guard end <= dataByteCount else {
            throw fail(.offsets, "data_offsets [\(begin), \(end)] run past the data section (\(dataByteCount) bytes)")
        }
        guard let byteCount = dtype.byteCount(elements: count) else {
            let (_, overflow) = count.multipliedReportingOverflow(by: dtype.bitCount)
            throw fail(.sizeMismatch, overflow ? "shape \(shape) of \(dtype) needs too many bytes"
                : "shape \(shape) of \(dtype) is \(count * dtype.bitCount) bits, not a whole number of bytes")
        }
        guard byteCount == end - begin else {
            throw fail(.sizeMismatch, "shape \(shape) of \(dtype) needs \(byteCount) bytes "
                + "but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return SafeTensorInfo(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// Rejects two non-empty byte ranges that share a byte.
    private static func checkOverlaps(_ tensors: [String: SafeTensorInfo], file: String) throws {
        let ranges = tensors.filter { !$0.value.dataOffsets.isEmpty }
            .sorted { ($0.value.dataOffsets.lowerBound, $0.key) < ($1.value.dataOffsets.lowerBound, $1.key) }
        var previous: (name: String, range: Range<Int>)?
        for (name, info) in ranges {
            if let p = previous, info.dataOffsets.lowerBound < p.range.upperBound {
                let r = info.dataOffsets
                throw SafeTensorsError(.overlap, file: file, tensor: name,
                                       "data_offsets [\(r.lowerBound), \(r.upperBound)] overlap tensor "
                                       + "'\(p.name)' [\(p.range.lowerBound), \(p.range.upperBound)]")
            }
            if previous == nil || info.dataOffsets.upperBound > previous!.range.upperBound {
                previous = (name, info.dataOffsets)
            }
        }
    }

    /// A JSON integer (not a float like 1.0, not a Boolean) that fits in Int.
    private static func integer(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, !(value is String) else { return nil }
        switch String(cString: number.objCType) {
        case "i", "q", "l", "s": return number.intValue
        case "I", "Q", "L", "S":
            let u = number.uint64Value
            return u <= UInt64(Int.max) ? Int(u) : nil
        default: return nil  // "d"/"f" (fractions, exponents), "c"/"B" (Booleans)
        }
    }

    private static func jsonText(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject([value]),
              let data = try? JSONSerialization.data(withJSONObject: [value]),
              let text = String(data: data, encoding: .utf8) else { return "\(value)" }
        return String(text.dropFirst().dropLast())
    }

    private static func jsonErrorText(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo["NSDebugDescription"] as? String) ?? ns.localizedDescription
    }
}

// MARK: - File

/// A safetensors file mapped into memory. The header is parsed and validated on open; tensors are
/// converted only when asked for, so opening a multi-gigabyte checkpoint costs one `mmap`.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The path (or the name given to an in-memory buffer), used in error messages.
    public let path: String
    /// `__metadata__`, or nil when the header has none.
    public let metadata: [String: String]?
    /// Tensor names, sorted.
    public let keys: [String]

    private let region: ByteRegion
    private let header: SafeTensorsHeader

    /// Maps and validates the file at `url`.
    public convenience init(url: URL) throws {
        try self.init(region: ByteRegion(mapping: url.path), path: url.path)
    }

    /// Validates a safetensors image held in memory (copied once); `name` stands for the file in
    /// error messages.
    public convenience init(data: Data, name: String = "<memory>") throws {
        try self.init(region: ByteRegion(copying: data), path: name)
    }

    private init(region: ByteRegion, path: String) throws {
        self.region = region
        self.path = path
        header = try SafeTensorsHeader.parse(UnsafeRawBufferPointer(start: region.base, count: region.count),
                                             file: path)
        metadata = header.metadata
        keys = header.tensors.keys.sorted()
    }

    /// Whether the file holds a tensor named `key`.
    public func contains(_ key: String) -> Bool { header.tensors[key] != nil }

    /// The dtype, shape and byte range of tensor `key`.
    public func info(_ key: String) throws -> SafeTensorInfo {
        guard let info = header.tensors[key] else {
            throw SafeTensorsError(.missingTensor, file: path, tensor: key,
                                   "not in the file (\(keys.count) tensors)")
        }
        return info
    }

    /// First byte of tensor `key`'s data.
    private func start(_ info: SafeTensorInfo) -> UnsafeRawPointer {
        UnsafeRawPointer(region.base + 8 + header.headerByteCount + info.dataOffsets.lowerBound)
    }

    private func unusable(_ key: String, _ info: SafeTensorInfo, as form: String) -> SafeTensorsError {
        SafeTensorsError(.unusableDType, file: path, tensor: key, "dtype \(info.dtype) cannot be used as \(form)")
    }

    /// Calls `body` with tensor `key`'s bytes as the file stores them (any dtype: row-major,
    /// little-endian elements; F4 and F6 packed), without copying.
    public func withUnsafeBytes<R>(of key: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try info(key)
        return try body(UnsafeRawBufferPointer(start: start(info), count: info.byteCount))
    }

    /// A copy of tensor `key`'s bytes as the file stores them (see `withUnsafeBytes(of:_:)`).
    public func bytes(_ key: String) throws -> Data {
        try withUnsafeBytes(of: key) { Data($0) }
    }

    /// The elements of integer or BOOL tensor `key` (BOOL as 0 and 1), row-major. Throws for the
    /// float dtypes, and for a U64 value that Int64 cannot hold.
    public func integers(_ key: String) throws -> [Int64] {
        let info = try info(key)
        guard info.dtype.isInteger else { throw unusable(key, info, as: "integers") }
        let base = start(info)
        return try (0..<info.count).map { i in
            guard let value = integerValue(base, i, info.dtype) else {
                throw SafeTensorsError(.unusableDType, file: path, tensor: key,
                                       "element \(i) (\(base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) "
                                       + "of dtype \(info.dtype) does not fit in Int64")
            }
            return value
        }
    }

    /// The dtype `stored(key)` keeps tensor `key` in: its own for F32, F16 and BF16, F32 for the
    /// other float dtypes. Throws for the dtypes that do not convert to Float32.
    public func storedDType(_ key: String) throws -> DType {
        let info = try info(key)
        guard info.dtype.convertsToFloat32 else { throw unusable(key, info, as: "a Float32 tensor") }
        return info.dtype.storageDType ?? .float32
    }

    /// Tensor `key` as weight storage: F32, F16 and BF16 data in its file dtype without conversion
    /// or copying; F64 and F8 data converted to F32. Throws for the dtypes that do not convert to
    /// Float32 (integers, BOOL, C64, F4, F6), naming the tensor and its dtype.
    public func stored(_ key: String) throws -> HalfTensor {
        let info = try info(key)
        if let dtype = info.dtype.storageDType {
            return HalfTensor(dtype: dtype, shape: info.shape, bytes: start(info), owner: region)
        }
        guard info.dtype.convertsToFloat32 else { throw unusable(key, info, as: "a Float32 tensor") }
        let source = start(info)
        return HalfTensor(dtype: .float32, shape: info.shape) { destination in
            widenToFloat(destination.bindMemory(to: Float.self, capacity: info.count), from: source,
                         dtype: info.dtype, count: info.count)
        }
    }

    /// Tensor `key` as Float32: a zero-copy view of F32 data aligned to 4 bytes (do not write to
    /// it), otherwise a converted copy. Throws for the dtypes that do not convert to Float32.
    public func tensor(_ key: String) throws -> Tensor {
        try stored(key).float()
    }

    /// Every tensor as Float32, by name (throws naming the first tensor whose dtype does not
    /// convert).
    public func tensors() throws -> [String: Tensor] {
        var out = [String: Tensor]()
        for key in keys { out[key] = try tensor(key) }
        return out
    }
}
