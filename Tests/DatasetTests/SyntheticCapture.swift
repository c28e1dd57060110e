// Hand-held-like synthetic captures with known angles: cameras circle an object at the origin of
// a Z-up world while elevation, distance, aim and roll wander, then the whole world is rotated,
// scaled and shifted as a COLMAP reconstruction would be.

import Foundation
@testable import MultiViewData
import SeededRandom

typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    /// A standard normal draw (Box-Muller).
    mutating func normal() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self), u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

struct SyntheticCapture {
    /// Cameras in the transformed (COLMAP) world, in trajectory order.
    var poses: [RigidPose]
    /// True elevation of each camera in degrees (relative to the object centre, Z-up world).
    var elevations: [Double]
    /// True azimuth in degrees, counter-clockwise about +Z, absolute (world +X = 0).
    var azimuths: [Double]
    /// Sparse points (object + background) in the transformed world.
    var points: [Vec3]
    /// True object centre in the transformed world.
    var centre: Vec3

    static func make(seed: UInt64, frames: Int = 30, rollNoiseDegrees: Double = 1.0,
                     aimJitter: Double = 0.02) -> SyntheticCapture {
        var rng = SeededGenerator(seed: seed)
        let sweep = Double.random(in: 300...350, using: &rng) * (Bool.random(using: &rng) ? 1 : -1)
        let az0 = Double.random(in: 0..<360, using: &rng)
        let el0 = Double.random(in: 5...35, using: &rng)
        let wobble = Double.random(in: 3...12, using: &rng), drift = Double.random(in: -20...20, using: &rng)
        let phase = Double.random(in: 0..<(2 * .pi), using: &rng)
        let d0 = Double.random(in: 1.5...3, using: &rng)
        var truthPoses: [RigidPose] = [], elevations: [Double] = [], azimuths: [Double] = []
        for k in 0..<frames {
            let s = Double(k) / Double(frames - 1)
            let el = el0 + wobble * sin(2 * .pi * 1.5 * s + phase) + drift * (s - 0.5)
            let az = az0 + sweep * s
            let d = d0 * (1 + 0.2 * sin(2 * .pi * s + phase * 0.7))
            let (er, ar) = (el * .pi / 180, az * .pi / 180)
            let c = Vec3(d * cos(er) * cos(ar), d * cos(er) * sin(ar), d * sin(er))
            let target = Vec3(rng.normal(), rng.normal(), rng.normal()) * (aimJitter * d)
            var pose = RigidPose(lookingFrom: c, at: target, up: Vec3(0, 0, 1))
            let roll = Mat3.rotation(axis: Vec3(0, 0, 1), angle: rng.normal() * rollNoiseDegrees * .pi / 180)
            pose.rotation = roll * pose.rotation  // rotate about the camera's own optical axis
            pose.translation = -(pose.rotation * c)
            truthPoses.append(pose)
            elevations.append(el)
            var a = az.truncatingRemainder(dividingBy: 360)
            if a < 0 { a += 360 }
            azimuths.append(a)
        }
        var points: [Vec3] = []
        for _ in 0..<300 { points.append(normalizedRandom(&rng) * 0.3) }
        for _ in 0..<60 { points.append(Vec3(rng.normal(), rng.normal(), -0.3 + 0.01 * rng.normal()) * Vec3(3, 3, 1)) }
        // A COLMAP world: rotated, scaled and shifted.
        let q = Mat3.rotation(axis: normalizedRandom(&rng), angle: Double.random(in: 0..<(2 * .pi), using: &rng))
        let scale = exp(Double.random(in: log(0.05)...log(20), using: &rng))
        let shift = Vec3(rng.normal(), rng.normal(), rng.normal()) * 5
        return SyntheticCapture(
            poses: truthPoses.map { $0.inWorld(scale: scale, rotation: q, shift: shift) },
            elevations: elevations, azimuths: azimuths,
            points: points.map { scale * (q * $0) + shift }, centre: shift)
    }

    static func normalizedRandom(_ rng: inout SeededGenerator) -> Vec3 {
        normalized(Vec3(rng.normal(), rng.normal(), rng.normal()))
    }

    /// Azimuths relative to frame `reference`, in [0, 360).
    func relativeAzimuths(reference: Int) -> [Double] {
        azimuths.map { a in
            var r = (a - azimuths[reference]).truncatingRemainder(dividingBy: 360)
            if r < 0 { r += 360 }
            return r
        }
    }
}

/// Smallest difference between two angles in degrees.
func angleDifference(_ a: Double, _ b: Double) -> Double {
    let d = abs(a - b).truncatingRemainder(dividingBy: 360)
    return min(d, 360 - d)
}
