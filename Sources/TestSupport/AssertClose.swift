// One closeness assertion for every numeric test: |a - e| <= atol + rtol * |e| elementwise, and on
// failure a report of the worst element (index, both values, abs and rel error) plus the first few
// pairs side by side. `file`/`line` are forwarded so failures point at the calling test.

import Foundation
import Tensor
import XCTest

public func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float, atol: Float,
                        _ label: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(label()): \(actual.count) elements, expected \(expected.count)", file: file, line: line)
        return
    }
    var worst = -1
    var worstExcess: Float = 0
    var failures = 0
    var maxAbs: Float = 0
    for i in 0..<actual.count {
        let a = actual[i], e = expected[i]
        let diff = abs(a - e)
        if !diff.isFinite && !(a == e) {
            failures += 1
            if worst < 0 || worstExcess.isFinite { worst = i; worstExcess = .infinity }
            continue
        }
        maxAbs = max(maxAbs, diff)
        let excess = diff - (atol + rtol * abs(e))
        if excess > 0 {
            failures += 1
            if excess > worstExcess || worst < 0 { worstExcess = excess; worst = i }
        }
    }
    guard failures > 0 else { return }
    let a = actual[worst], e = expected[worst]
    var report = "\(label()): \(failures)/\(actual.count) elements outside atol \(atol) rtol \(rtol); "
    report += "max |diff| \(maxAbs); worst at [\(worst)]: actual \(a) expected \(e) "
    report += "(abs \(abs(a - e)), rel \(abs(a - e) / max(abs(e), .leastNormalMagnitude)))\n  first pairs:"
    for i in 0..<min(5, actual.count) { report += " (\(actual[i]), \(expected[i]))" }
    XCTFail(report, file: file, line: line)
}

public func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float,
                        _ label: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    guard actual.shape == expected.shape else {
        XCTFail("\(label()): shape \(actual.shape), expected \(expected.shape)", file: file, line: line)
        return
    }
    assertClose(actual.scalars, expected.scalars, rtol: rtol, atol: atol, label(), file: file, line: line)
}
