// Surface materials: a metallic-roughness model with the inputs of Blender's Principled BSDF that
// the common importers fill (glTF 2.0's pbrMetallicRoughness, and Wavefront MTL through Blender's
// OBJ importer's conversion), so a render of a file matches what Blender makes of the same file.
//
// Texture slots carry their own texture-coordinate transform (glTF KHR_texture_transform). The
// base colour and emissive textures are sRGB-encoded; metallic-roughness, normal and occlusion
// textures hold data and are read linearly (the loader decodes each as its slot requires).

import Foundation

/// An affine map of texture coordinates (assimp's convention: v = 0 is the image's bottom row):
/// (u', v') = (a u + b v + tx, c u + d v + ty).
public struct UVTransform: Equatable, Sendable {
    public var a: Float, b: Float, c: Float, d: Float, tx: Float, ty: Float

    public init(a: Float, b: Float, c: Float, d: Float, tx: Float, ty: Float) {
        (self.a, self.b, self.c, self.d, self.tx, self.ty) = (a, b, c, d, tx, ty)
    }

    public static let identity = UVTransform(a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0)

    /// glTF's KHR_texture_transform (offset, rotation in radians, scale), which the extension
    /// defines on glTF coordinates (v down: v_gltf = 1 - v) as uv' = T(offset) R(rotation) S(scale) uv
    /// with R = [[cos, sin], [-sin, cos]], rewritten for assimp's v-up coordinates.
    public static func khrTextureTransform(offset: SIMD2<Float>, rotation: Float, scale: SIMD2<Float>) -> UVTransform {
        let cr = cos(rotation), sr = sin(rotation)
        // u' = ox + cr sx u + sr sy (1 - v);  v' = 1 - [oy - sr sx u + cr sy (1 - v)]
        return UVTransform(a: cr * scale.x, b: -sr * scale.y, c: sr * scale.x, d: cr * scale.y,
                           tx: offset.x + sr * scale.y, ty: 1 - offset.y - cr * scale.y)
    }

    @inline(__always) public func apply(_ uv: SIMD2<Float>) -> SIMD2<Float> {
        SIMD2(a * uv.x + b * uv.y + tx, c * uv.x + d * uv.y + ty)
    }

    /// The linear part, for texture-coordinate derivatives.
    @inline(__always) public func applyLinear(_ duv: SIMD2<Float>) -> SIMD2<Float> {
        SIMD2(a * duv.x + b * duv.y, c * duv.x + d * duv.y)
    }

    public var isIdentity: Bool { self == .identity }
}

/// One texture of a material: an index into `Mesh.textures` and its coordinate transform.
public struct TextureSlot: Equatable, Sendable {
    public var texture: Int
    public var transform: UVTransform

    public init(_ texture: Int, transform: UVTransform = .identity) {
        self.texture = texture
        self.transform = transform
    }
}

/// How a material's opacity (base colour alpha x texture alpha x vertex alpha) is used.
public enum AlphaMode: Equatable, Sendable {
    /// Opacity ignored: fully opaque (glTF OPAQUE).
    case opaque
    /// Opaque where opacity >= cutoff, absent elsewhere (glTF MASK).
    case mask(cutoff: Float)
    /// Composited by opacity over what lies behind, in depth order (glTF BLEND; MTL d < 1, which
    /// Blender renders with dithered, i.e. order-independent, transparency).
    case blend
}

public struct Material: Equatable, Sendable {
    /// Linear RGB base colour factor; w is the opacity factor.
    public var baseColor: SIMD4<Float>
    public var baseColorTexture: TextureSlot?
    public var metallic: Float = 0
    public var roughness: Float = EnvironmentLight.defaultRoughness
    /// Index of refraction of the dielectric layer (Blender's IOR input).
    public var ior: Float = 1.5
    /// Blender's "Specular IOR Level": 0.5 leaves the F0 of `ior`, 0 removes it, 1 doubles it.
    public var specularLevel: Float = 0.5
    /// glTF metallicRoughnessTexture: roughness in green, metallic in blue, multiplying the factors.
    public var metallicRoughnessTexture: TextureSlot?
    /// Tangent-space normal map (OpenGL convention, green = +v direction), Blender's Normal Map
    /// node with strength `normalScale`.
    public var normalTexture: TextureSlot?
    public var normalScale: Float = 1
    /// Ambient occlusion (red channel), applied to the image-based light only when the shader is
    /// asked to (`Shader.appliesOcclusionTextures`): Blender's glTF importer does not connect it.
    public var occlusionTexture: TextureSlot?
    public var occlusionStrength: Float = 1
    /// Emitted linear radiance (glTF emissiveFactor x strength), times `emissiveTexture`.
    public var emissive = Vec3.zero
    public var emissiveTexture: TextureSlot?
    /// Whether the base colour texture's alpha multiplies the opacity (glTF: yes; Blender's OBJ
    /// importer links only the image's colour).
    public var baseColorTextureAlpha = true
    /// A scalar opacity map (MTL map_d, red channel), multiplying the opacity.
    public var opacityTexture: TextureSlot?
    public var alphaMode = AlphaMode.opaque
    /// false: faces seen from the back are not drawn (glTF doubleSided false, which Blender's
    /// importer turns into the material's backface culling).
    public var doubleSided = true

    public init(baseColor: SIMD4<Float>, texture: Int? = nil) {
        self.baseColor = baseColor
        baseColorTexture = texture.map { TextureSlot($0) }
    }

    /// What objects without a material get: a neutral grey (sRGB 0.7 ~ linear 0.45).
    public static let neutralGrey = Material(baseColor: SIMD4(0.448, 0.448, 0.448, 1))

    /// The dielectric layer's reflectance at normal and grazing incidence, as Blender's EEVEE
    /// computes them for the Principled BSDF (gpu_shader_material_principled.glsl and
    /// eevee_bxdf_lib's `bsdf_lut`): F0 = ((ior - 1) / (ior + 1))^2, scaled by 2 x specular level
    /// when that is not 0.5 (and the IOR re-derived from the scaled F0); F90 = 1, ramped down
    /// to 0 for IORs below ~1.33; no reflection at all at IOR 1.
    public var dielectricReflectance: (f0: Float, f90: Float) {
        var eta = max(ior, 0), f0 = Material.f0(ior: eta)
        if specularLevel != 0.5 {
            f0 *= 2 * max(specularLevel, 0)
            eta = Material.ior(f0: f0)
            if ior < 1 { eta = 1 / eta }
        }
        guard eta != 1, f0 > 0, f0.isFinite else { return (0, 0) }
        let f90 = eta > 1 ? min(max(2.33 / 0.33 * (eta - 1) / (eta + 1), 0), 1) : 1
        return (min(f0, 1), f90)
    }

    static func f0(ior: Float) -> Float {
        let r = (ior - 1) / (ior + 1)
        return r * r
    }

    static func ior(f0: Float) -> Float {
        let root = min(max(f0, 0), 0.99).squareRoot()
        return (1 + root) / (1 - root)
    }

    /// A Wavefront MTL material as Blender 4.2's OBJ importer turns it into a Principled BSDF
    /// (io/wavefront_obj/importer/obj_import_mtl.cc, checked by importing files with bpy):
    /// base colour Kd (as linear values), specular level = mean(Ks), roughness = Pr when given,
    /// else 1 - sqrt(clamp(Ns, 0, 1000) / 1000); metallic = Pm when given, else 1 for the
    /// reflection illumination models 3-8 and 0 otherwise; IOR = Ni; alpha = d (blended when
    /// below 1). Emission (Ke) is imported with strength 0, so it does not show. A diffuse map
    /// (map_Kd) replaces Kd rather than multiplying it, and its alpha is not used (the importer
    /// links the image's colour to Base Color and nothing else): see `withDiffuseMap`.
    public static func wavefront(kd: Vec3, ks: Vec3, ns: Float, ni: Float, d: Float, illum: Int,
                                 pr: Float?, pm: Float?) -> Material {
        var m = Material(baseColor: SIMD4(kd.x, kd.y, kd.z, min(max(d, 0), 1)))
        m.specularLevel = max((ks.x + ks.y + ks.z) / 3, 0)
        m.roughness = pr ?? (1 - (min(max(ns, 0), 1000) / 1000).squareRoot())
        m.metallic = pm ?? ((3...8).contains(illum) ? 1 : 0)
        m.ior = ni
        m.alphaMode = d < 1 ? .blend : .opaque
        m.baseColorTextureAlpha = false
        return m
    }

    /// This MTL material with a diffuse map, as Blender's OBJ importer wires it: the texture
    /// alone gives the base colour (Kd is left on the unlinked input), the opacity stays d.
    public func withDiffuseMap(_ slot: TextureSlot) -> Material {
        var m = self
        m.baseColorTexture = slot
        m.baseColor = SIMD4(1, 1, 1, baseColor.w)
        return m
    }
}
