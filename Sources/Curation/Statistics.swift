// Order statistics shared by the scores and the cascade.

/// The `p`-th percentile (0...100) of `values` with linear interpolation between the two nearest
/// ranks: numpy's `percentile(values, p)` default ("linear": rank (n - 1) p / 100). nil when empty.
public func percentile(_ values: [Double], _ p: Double) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let rank = Double(sorted.count - 1) * min(100, max(0, p)) / 100
    let lo = Int(rank.rounded(.down)), hi = min(sorted.count - 1, lo + 1)
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
}

/// The median (the 50th percentile as above: the mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double? { percentile(values, 50) }

/// Population mean; nil when empty.
public func mean(_ values: [Double]) -> Double? {
    values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
}
