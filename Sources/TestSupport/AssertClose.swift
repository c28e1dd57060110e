// One closeness assertion for every numeric test: |a - e| <= atol + rtol * |e| elementwise, and on
// failure a report of the worst element (index, both values, abs and rel error) plus the first few
// pairs side by side. `file`/`line` are forwarded so failures point at the calling test.
//
// Whole-network checks, whose outputs' scale the test does not fix, read `atol` relative to the
// largest expected magnitude (`atolScale: .maxAbsExpected`): |a - e| <= atol * max|e| + rtol * |e|.
// The returned `Closeness` holds the achieved errors, for tests that print them.

import Foundation
import Tensor
import XCTest

/// What `atol` is a multiple of.
public enum AtolScale: Sendable {
    /// `atol` is an absolute bound.
    case one
    /// `atol` is a fraction of max |expected| (the bound is atol · max|e|).
    case maxAbsExpected
}

/// The achieved errors of one comparison: its largest absolute difference, the element where
/// |a − e| exceeds its bound the most (or, when all pass, where |a − e| is largest), and the
/// largest difference relative to |e| and to max |e|.
public struct Closeness: CustomStringConvertible, Sendable {
    public var label: String
    public var count: Int
    /// Elements outside the bound (0 when the assertion passed).
    public var failures: Int
    public var maxAbsDifference: Float
    /// max over elements of |a − e| / |e| (|e| floored at the smallest normal Float).
    public var maxRelativeDifference: Float
    /// max |e|, the scale of `.maxAbsExpected`.
    public var maxAbsExpected: Float
    public var worstIndex: Int?
    public var worstActual: Float = 0
    public var worstExpected: Float = 0

    public var description: String {
        var text = "\(label): max |diff| \(maxAbsDifference), max rel \(maxRelativeDifference), "
        text += "max |diff| / max |expected| \(maxAbsDifference / max(maxAbsExpected, .leastNormalMagnitude))"
        if let worstIndex { text += "; worst at [\(worstIndex)]: actual \(worstActual) expected \(worstExpected)" }
        return text
    }
}

@discardableResult
public func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float, atol: Float,
                        atolScale: AtolScale = .one,
                        _ label: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) -> Closeness {
    var result = Closeness(label: label(), count: actual.count, failures: 0, maxAbsDifference: 0,
                           maxRelativeDifference: 0, maxAbsExpected: 0)
    guard actual.count == expected.count else {
        result.failures = max(actual.count, expected.count)
        XCTFail("\(result.label): \(actual.count) elements, expected \(expected.count)", file: file, line: line)
        return result
    }
    let scale = expected.reduce(Float(0)) { max($0, abs($1)) }
    result.maxAbsExpected = scale
    let bound = atolScale == .maxAbsExpected ? atol * scale : atol
    var worst = -1, largest = -1
    var worstExcess: Float = 0
    for i in 0..<actual.count {
        let a = actual[i], e = expected[i]
        let diff = abs(a - e)
        if !diff.isFinite && !(a == e) {
            result.failures += 1
            if worst < 0 || worstExcess.isFinite { worst = i; worstExcess = .infinity }
            continue
        }
        if diff > result.maxAbsDifference || largest < 0 { result.maxAbsDifference = diff; largest = i }
        result.maxRelativeDifference = max(result.maxRelativeDifference, diff / max(abs(e), .leastNormalMagnitude))
        let excess = diff - (bound + rtol * abs(e))
        if excess > 0 {
            result.failures += 1
            if excess > worstExcess || worst < 0 { worstExcess = excess; worst = i }
        }
    }
    let reported = worst >= 0 ? worst : largest
    if reported >= 0 {
        result.worstIndex = reported
        (result.worstActual, result.worstExpected) = (actual[reported], expected[reported])
    }
    guard result.failures > 0 else { return result }
    let a = actual[worst], e = expected[worst]
    let atolText = atolScale == .maxAbsExpected ? "\(atol) x max |expected| \(scale) = \(bound)" : "\(atol)"
    var report = "\(result.label): \(result.failures)/\(actual.count) elements outside atol \(atolText) rtol \(rtol); "
    report += "max |diff| \(result.maxAbsDifference); worst at [\(worst)]: actual \(a) expected \(e) "
    report += "(abs \(abs(a - e)), rel \(abs(a - e) / max(abs(e), .leastNormalMagnitude)))\n  first pairs:"
    for i in 0..<min(5, actual.count) { report += " (\(actual[i]), \(expected[i]))" }
    XCTFail(report, file: file, line: line)
    return result
}

@discardableResult
public func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float,
                        atolScale: AtolScale = .one,
                        _ label: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) -> Closeness {
    guard actual.shape == expected.shape else {
        let text = label()
        XCTFail("\(text): shape \(actual.shape), expected \(expected.shape)", file: file, line: line)
        return Closeness(label: text, count: actual.count, failures: max(actual.count, expected.count),
                         maxAbsDifference: .nan, maxRelativeDifference: .nan, maxAbsExpected: .nan)
    }
    return assertClose(actual.scalars, expected.scalars, rtol: rtol, atol: atol, atolScale: atolScale, label(),
                       file: file, line: line)
}
