// Orbit plans: which cameras an object gets. N azimuths evenly spaced over 360 degrees from a start
// azimuth, one elevation per orbit (given, or drawn from a range by a seeded generator keyed on
// the object's id so shards and reruns agree), a distance that is either given or fitted. That is
// a static orbit; a dynamic one (`DynamicOrbit.swift`) wanders in elevation and azimuth about it.

import Foundation
import SeededRandom

public enum Background: String, CaseIterable, Sendable {
    /// RGBA, alpha = coverage, colour not premultiplied.
    case transparent
    /// RGB, composited over white in linear light.
    case white
    /// RGB over a random colour drawn per object from the seed (recorded in cameras.json as
    /// `background_color`), and a twin of each view over white, `NNN-white.png`: SV3D's training
    /// renders (the SV3D paper, appendix B). The shader renders transparent; `RenderJob`
    /// composites both in linear light.
    case randomColor = "random-color"
}

public enum PNGCompression: String, CaseIterable, Sendable {
    /// libpng's fastest settings: ~15 % larger files, ~30 % less CPU per orbit.
    case fast
    /// libpng's defaults.
    case small
}

/// SV3D's two kinds of orbit (the SV3D paper, section 3 and appendix B).
public enum OrbitKind: String, CaseIterable, Sendable {
    /// One elevation, azimuths evenly spaced.
    case `static`
    /// Elevation a smoothed sum of seeded sinusoids about the static orbit's, azimuths with small
    /// seeded noise (`DynamicOrbit`).
    case dynamic
}

public enum ElevationChoice: Equatable, Sendable {
    case fixed(Double)
    case range(Double, Double)
}

/// Everything that decides how an object is rendered (the CLI's options).
public struct RenderOptions: Equatable, Sendable {
    public var views = 21
    public var size = 576
    /// SV3D/SVD-MV static orbits draw the elevation from U(-5, 30) degrees.
    public var elevation = ElevationChoice.range(-5, 30)
    public var azimuthStart = 0.0
    public var orbit = OrbitKind.static
    /// Views per training sample, recorded in cameras.json: the `views` form views / sampleViews
    /// interleaved samples (SV3D: 84 views, samples of 21). nil: none recorded.
    public var sampleViews: Int?
    /// nil: fitted per object (see `Orbit.fittedDistance`).
    public var distance: Double?
    /// SV3D's field of view.
    public var fovDegrees = 33.8
    public var background = Background.transparent
    /// Samples per pixel; a square number (1, 4, 9, 16...), laid out as an ordered grid.
    public var samples = 4
    public var writeDepth = false
    public var writeNormals = false
    public var seed: UInt64 = 0
    public var pngCompression = PNGCompression.fast
    /// The studio lights (default) or image-based lighting from HDR maps (`EnvironmentLighting.swift`).
    public var lighting = LightingOptions()
    /// The box the scene is normalised by (the Objaverse scripts' by default).
    public var normalization = NormalizationRule.objaverse
    /// Apply glTF occlusion textures to the image-based light (`Shader.appliesOcclusionTextures`;
    /// off by default, as in Blender).
    public var occlusionTextures = false

    public init() {}

    public var supersampling: Int { Int(Double(samples).squareRoot().rounded()) }
}

public enum Orbit {
    /// The camera distance at which a sphere of `radius` around the origin exactly fits the field
    /// of view from any direction: radius / sin(fov / 2). For the field's unit-box normalisation
    /// the radius is at most sqrt(3)/2, so the distance is at most 2.98 at 33.8 degrees.
    public static func fittedDistance(radius: Double, fovDegrees: Double) -> Double {
        max(radius, 1e-3) / sin(fovDegrees * .pi / 360)
    }

    /// The orbit's elevation for one object.
    public static func elevation(_ choice: ElevationChoice, seed: UInt64, objectID: String) -> Double {
        switch choice {
        case .fixed(let value): return value
        case .range(let lo, let hi):
            var rng = SplitMix64(seed: seed ^ fnv1a(objectID))
            return lo + (hi - lo) * rng.nextUnit()
        }
    }

    /// The cameras of one orbit: azimuth_k = start + 360 k / views.
    public static func cameras(views: Int, elevation: Double, azimuthStart: Double, distance: Double,
                               fovDegrees: Double, size: Int) -> [Camera] {
        (0..<views).map { k in
            var azimuth = (azimuthStart + 360 * Double(k) / Double(views)).truncatingRemainder(dividingBy: 360)
            if azimuth < 0 { azimuth += 360 }
            return Camera(elevationDegrees: elevation, azimuthDegrees: azimuth, distance: distance,
                          fovDegrees: fovDegrees, width: size, height: size)
        }
    }
}

/// FNV-1a over UTF-8: a stable 64-bit hash (Swift's Hasher is seeded per process).
public func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in s.utf8 {
        h ^= UInt64(byte)
        h = h &* 0x100_0000_01b3
    }
    return h
}

