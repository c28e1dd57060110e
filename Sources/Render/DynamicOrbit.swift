// SV3D's dynamic orbits (Voleti et al., "SV3D: Novel Multi-view Synthesis and 3D Generation from a
// Single Image using Latent Video Diffusion", ECCV 2024, section 3 and appendix B): the camera
// still circles the object once, but its elevation wanders (a sum of sinusoids with random
// periods, amplitudes and phases, smoothed) and its azimuth steps are irregular (small noise).
// The paper gives the distributions, not its code; the reading below is ours, and every draw is
// recorded in cameras.json's `orbit` section.
//
// Elevation of view k of N, t = k / N the fraction of the orbit covered:
//     e_k = mean + sum_j A_j sin(2 pi n_j t + phi_j)
// - mean: the static orbit's elevation for this object and seed (`Orbit.elevation`: U(-5, 30) by
//   default), so a dynamic orbit wanders about the height a static one would have had;
// - two terms, each drawn: n_j uniform in {1, ..., 5}, a_j uniform in [0.5, 10) degrees, phi_j
//   uniform in [0, 360) degrees. "Period 1-5" is read as 1 to 5 whole cycles per orbit (a period
//   of 1/n_j orbit): whole cycles close the path on itself, so the last view runs smoothly into
//   the first, the trajectory loops back to the conditioning view's elevation as the paper's
//   orbits do, and each of the interleaved samples of an 84-view orbit sees the same kind of path.
//   The other reading, periods of 1 to 5 orbits, would leave a jump at the seam and barely move
//   the camera within one orbit. Two terms (a sum, and few enough that the band below rarely
//   binds): the elevation's peak-to-peak swing is 16 degrees at the median, 25 at the 90th
//   percentile;
// - smoothing: the path convolved around the orbit with a Gaussian of sigma = 1/42 orbit (half a
//   21-view sample's step). On a sinusoid of n whole cycles per orbit this is exact and simple:
//   it scales it by exp(-2 pi^2 sigma^2 n^2) (0.99 for n = 1, 0.76 for n = 5), so A_j = a_j times
//   that and the smoothed path is still a recorded sum of sinusoids;
// - limits: when the views' elevations would leave [-10, 40] degrees (widened to hold the mean if
//   a fixed elevation lies outside), all terms are scaled by one factor so the path just touches
//   the band: the shape and the mean are kept (a clamp would flatten the path and leave the record
//   inexact). The band is SV3D's static range U(-5, 30) widened by about one term's amplitude, so
//   the camera never looks from far below an object (which Objaverse assets, modelled to stand
//   on the ground, rarely have) nor from higher than the static data goes by more than a term;
//   about one dynamic orbit in eight is scaled, mostly those with a mean near -5.
// Azimuth of view k: start + 360 k / N + eta_k, eta_k uniform in [-b, b), drawn independently per
// view, b = min(2, 0.4 * 360 / N) degrees ("small noise": 2 degrees against a 21-view step of
// 17.1; the cap keeps every step above 20 % of the nominal one, so the camera always moves on).
//
// Frame-to-frame changes are bounded: |e_{k+1} - e_k| <= sum_j A_j 2 pi n_j / N (under 5.7 degrees
// at N = 84) and the azimuth step lies within 360 / N +- 2 b.

import Cameras
import Foundation
import SeededRandom

public struct DynamicOrbit: Equatable, Sendable {
    public struct Term: Equatable, Sendable {
        /// Whole cycles per orbit (a period of 1 / cycles orbit).
        public var cycles: Int
        /// Degrees, as drawn.
        public var drawnAmplitude: Double
        /// Degrees, in the path: drawn x the smoothing factor x the limits' scale.
        public var amplitude: Double
        /// Degrees.
        public var phase: Double
    }

    public static let termCount = 2
    public static let cycleRange = 1...5
    /// Degrees, [lo, hi).
    public static let amplitudeRange = (0.5, 10.0)
    /// In orbits: half the step of a 21-view sample.
    public static let smoothingSigma = 1.0 / 42
    /// Degrees.
    public static let elevationLimits = (-10.0, 40.0)
    /// Degrees.
    public static let azimuthNoiseMax = 2.0
    /// The noise bound's cap as a fraction of the nominal azimuth step.
    public static let azimuthNoiseStepFraction = 0.4

    public var views: Int
    public var meanElevation: Double
    public var azimuthStart: Double
    public var terms: [Term]
    /// The band the views were kept in, degrees.
    public var limits: (lo: Double, hi: Double)
    /// b, degrees.
    public var azimuthNoiseBound: Double
    /// eta_k, degrees, one per view.
    public var azimuthNoise: [Double]

    public static func == (a: DynamicOrbit, b: DynamicOrbit) -> Bool {
        a.views == b.views && a.meanElevation == b.meanElevation && a.azimuthStart == b.azimuthStart
            && a.terms == b.terms && a.limits == b.limits && a.azimuthNoiseBound == b.azimuthNoiseBound
            && a.azimuthNoise == b.azimuthNoise
    }

    /// exp(-2 pi^2 sigma^2 n^2): what a circular Gaussian of `sigma` orbits does to a sinusoid of
    /// n whole cycles per orbit (the wrapped Gaussian's Fourier coefficient at n).
    public static func smoothingFactor(cycles n: Int, sigma: Double = smoothingSigma) -> Double {
        exp(-2 * .pi * .pi * sigma * sigma * Double(n * n))
    }

    /// b = min(2, 0.4 * 360 / views) degrees.
    public static func azimuthNoiseBound(views: Int) -> Double {
        min(azimuthNoiseMax, azimuthNoiseStepFraction * 360 / Double(views))
    }

    /// One object's dynamic orbit of `views` views: the draws come from SplitMix64 keyed on the
    /// seed and the object id (a stream apart from the static elevation's), elevation terms first,
    /// so they do not depend on `views`.
    public static func draw(views: Int, meanElevation: Double, azimuthStart: Double,
                            seed: UInt64, objectID: String) -> DynamicOrbit {
        precondition(views >= 1)
        var rng = SplitMix64(seed: seed ^ fnv1a("dynamic-orbit/" + objectID))
        let terms = (0..<termCount).map { _ -> Term in
            let n = cycleRange.lowerBound + min(cycleRange.count - 1, Int(rng.nextUnit() * Double(cycleRange.count)))
            let a = rng.uniform(amplitudeRange.0, amplitudeRange.1)
            let phase = rng.uniform(0, 360)
            return Term(cycles: n, drawnAmplitude: a, amplitude: a * smoothingFactor(cycles: n), phase: phase)
        }
        let b = azimuthNoiseBound(views: views)
        let noise = (0..<views).map { _ in rng.uniform(-b, b) }
        let limits = (lo: min(elevationLimits.0, meanElevation), hi: max(elevationLimits.1, meanElevation))
        var orbit = DynamicOrbit(views: views, meanElevation: meanElevation, azimuthStart: azimuthStart,
                                 terms: terms, limits: limits, azimuthNoiseBound: b, azimuthNoise: noise)
        let waves = (0..<views).map(orbit.wave)
        var scale = 1.0
        if let top = waves.max(), top > 0, meanElevation + top > limits.hi { scale = min(scale, (limits.hi - meanElevation) / top) }
        if let bottom = waves.min(), bottom < 0, meanElevation + bottom < limits.lo { scale = min(scale, (meanElevation - limits.lo) / -bottom) }
        for j in orbit.terms.indices { orbit.terms[j].amplitude *= scale }
        return orbit
    }

    /// sum_j A_j sin(2 pi n_j k / N + phi_j), degrees.
    public func wave(view k: Int) -> Double {
        terms.reduce(0) { sum, term in
            let turns = Double((term.cycles * k) % views) / Double(views)
            return sum + term.amplitude * sin(2 * .pi * turns + term.phase * .pi / 180)
        }
    }

    public func elevation(view k: Int) -> Double { meanElevation + wave(view: k) }

    /// start + 360 k / N + eta_k, in [0, 360).
    public func azimuth(view k: Int) -> Double {
        var azimuth = (azimuthStart + 360 * Double(k) / Double(views) + azimuthNoise[k]).truncatingRemainder(dividingBy: 360)
        if azimuth < 0 { azimuth += 360 }
        return azimuth
    }

    public func cameras(distance: Double, fovDegrees: Double, size: Int) -> [Camera] {
        (0..<views).map { k in
            Camera(elevationDegrees: elevation(view: k), azimuthDegrees: azimuth(view: k), distance: distance,
                   fovDegrees: fovDegrees, width: size, height: size)
        }
    }

    public static let law = """
        elevation_deg(k) = mean_elevation_deg + sum_j amplitude_deg_j sin(360 deg * cycles_j * k / views + phase_deg_j); \
        drawn: cycles uniform in 1...5 (whole cycles per orbit), drawn_amplitude_deg uniform in [0.5, 10), \
        phase_deg uniform in [0, 360); smoothed by a circular Gaussian of smoothing_sigma_orbits \
        (amplitude = drawn * exp(-2 pi^2 sigma^2 cycles^2)), then every amplitude scaled by one factor <= 1 \
        to keep the views within elevation_limits_deg. azimuth_deg(k) = azimuth_start_deg + 360 k / views + noise_k, \
        noise_k uniform in [-azimuth_noise_deg, azimuth_noise_deg), azimuth_noise_deg = min(2, 0.4 * 360 / views). \
        SplitMix64 keyed on seed ^ fnv1a("dynamic-orbit/" + object_id); mean_elevation_deg is the static orbit's elevation
        """
}

extension Orbit {
    public static let staticLaw = "elevation_deg(k) = elevation_deg; azimuth_deg(k) = azimuth_start_deg + 360 k / views"

    /// cameras.json's `orbit` section for an orbit planned from `options` (`dynamic` for a dynamic one).
    public static func record(options: RenderOptions, dynamic: DynamicOrbit?) -> OrbitCameras.OrbitPlan {
        var plan = OrbitCameras.OrbitPlan(kind: options.orbit.rawValue, seed: options.seed)
        if let n = options.sampleViews, n >= 1, options.views % n == 0 {
            plan.sampleViews = n
            plan.sampleStride = options.views / n
        }
        guard let dynamic else {
            plan.law = staticLaw
            return plan
        }
        plan.meanElevationDeg = dynamic.meanElevation
        plan.elevationTerms = dynamic.terms.map {
            .init(cycles: $0.cycles, amplitudeDeg: $0.amplitude, drawnAmplitudeDeg: $0.drawnAmplitude, phaseDeg: $0.phase)
        }
        plan.smoothingSigmaOrbits = DynamicOrbit.smoothingSigma
        plan.elevationLimitsDeg = [dynamic.limits.lo, dynamic.limits.hi]
        plan.azimuthNoiseDeg = dynamic.azimuthNoiseBound
        plan.law = DynamicOrbit.law
        return plan
    }
}
