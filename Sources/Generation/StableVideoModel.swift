// An SV3D- or SVD-structured model: the four networks of an SV3D or SVD checkpoint, under sgm's
// prefixes (the same four parts; SVD's conditioner has its encoder at index 3, after the fps and
// motion-bucket embedders, and a temporal first-stage decoder).
//
//   model.diffusion_model.*                     VideoUNet
//   conditioner.embedders.0.open_clip.*         OpenCLIP image tower (crossattn)
//   conditioner.embedders.1.encoder.*           KL VAE with quant convs (concat latent = mean);
//     (SVD: conditioner.embedders.3.encoder.*)
//   first_stage_model.decoder.*                 SV3D: image decoder (no post_quant_conv);
//                                               SVD: temporal VideoDecoder
//
// The official sv3d_u / sv3d_p / svd / svd_xt files carry no config, so their architecture is
// recognised from the UNet's label-embedding input width (sv3d_u 256, svd and svd_xt 768, sv3d_p
// 1280; svd and svd_xt are the same network). Our own
// checkpoints (the bundled small model, finetuning runs) store an `StableVideoModelConfig` as JSON in the
// safetensors metadata under "svdmv.config", so any smaller model of the same structure loads too.

import Foundation
import Models
import NN
import Tensor

public struct StableVideoModelConfig: Codable, Equatable, Sendable {
    public enum Variant: String, Codable, Sendable, CaseIterable {
        /// Camera-free (y = cond_aug only).
        case sv3dU = "sv3d_u"
        /// Camera-conditioned (y = cond_aug | polar | azimuth).
        case sv3dP = "sv3d_p"
        /// Stable Video Diffusion, svd and svd_xt (y = fps_id | motion_bucket_id | cond_aug).
        case svd = "svd"

        public var vectorConditioner: VectorConditioner {
            switch self {
            case .sv3dU: return .sv3dU
            case .sv3dP: return .sv3dP
            case .svd: return .svd
            }
        }

        /// Where the conditioner's VAE encoder sits in a checkpoint of this variant.
        public var conditioningEncoderPrefix: String {
            self == .svd ? "conditioner.embedders.3.encoder." : StableVideoModel.encoderPrefix
        }

        /// Whether the model makes orbits (SV3D: the input view is the last frame) rather than
        /// videos (SVD).
        public var isOrbitModel: Bool { self != .svd }
    }

    public var variant: Variant
    public var unet: VideoUNetConfig
    public var clip: VisionTransformerConfig
    public var conditioningEncoder: AutoencoderConfig
    public var firstStage: AutoencoderConfig
    /// Image size the model was trained at (576 for SV3D).
    public var imageSize: Int

    public init(variant: Variant, unet: VideoUNetConfig, clip: VisionTransformerConfig,
                conditioningEncoder: AutoencoderConfig, firstStage: AutoencoderConfig, imageSize: Int) {
        self.variant = variant; self.unet = unet; self.clip = clip
        self.conditioningEncoder = conditioningEncoder; self.firstStage = firstStage; self.imageSize = imageSize
    }

    public static let sv3dP = StableVideoModelConfig(variant: .sv3dP, unet: .sv3dP, clip: .vitH14,
                                             conditioningEncoder: .conditioningEncoder,
                                             firstStage: .sv3dFirstStage, imageSize: 576)
    public static let sv3dU = StableVideoModelConfig(variant: .sv3dU, unet: .sv3dU, clip: .vitH14,
                                             conditioningEncoder: .conditioningEncoder,
                                             firstStage: .sv3dFirstStage, imageSize: 576)

    /// svd.yaml / svd_xt.yaml (one network; they differ in the sampling defaults: 14 or 25
    /// frames, guidance up to 2.5 or 3.0). Frames are 1024x576; `imageSize` is the height.
    public static let svd = StableVideoModelConfig(variant: .svd, unet: .svd, clip: .vitH14,
                                            conditioningEncoder: .conditioningEncoder,
                                            firstStage: .svdFirstStage, imageSize: 576)

    public static let metadataKey = "svdmv.config"
}

public enum StableVideoModelError: Error, CustomStringConvertible {
    case unrecognised(String)
    case weights(part: String, underlying: Error)
    case architecture(String)
    public var description: String {
        switch self {
        case .unrecognised(let why): return "not an SV3D checkpoint: \(why)"
        case .architecture(let why): return "cannot build that model: \(why)"
        case .weights(let part, let error): return "\(part) weights: \(error)"
        }
    }
}

public final class StableVideoModel: Module {
    /// Fixed at construction except for the latent scale factor (`setLatentScaleFactor`), which
    /// does not change the architecture.
    public private(set) var config: StableVideoModelConfig
    public let unet: VideoUNet
    public let clip: OpenCLIPImageEmbedder
    public let conditioningEncoder: AutoencoderKL
    public let decoder: VAEDecoder

    public static let unetPrefix = "model.diffusion_model."
    public static let clipPrefix = "conditioner.embedders.0."
    /// SV3D's; an SVD checkpoint's is `StableVideoModelConfig.Variant.svd.conditioningEncoderPrefix`.
    public static let encoderPrefix = "conditioner.embedders.1.encoder."
    public static let decoderPrefix = "first_stage_model.decoder."

    public init(_ config: StableVideoModelConfig) {
        self.config = config
        unet = VideoUNet(config.unet)
        clip = OpenCLIPImageEmbedder(config: config.clip)
        conditioningEncoder = AutoencoderKL(config: config.conditioningEncoder)
        decoder = VAEDecoder(config: config.firstStage)
    }

    /// Sets sgm's `scale_factor` of the first stage and the conditioning encoder (diffusion
    /// latents = factor · encoder latents), e.g. 1/std of a newly trained VAE's latents, the way
    /// Stable Diffusion's 0.18215 was chosen.
    public func setLatentScaleFactor(_ factor: Float) {
        config.firstStage.scaleFactor = factor
        config.conditioningEncoder.scaleFactor = factor
    }

    /// Takes the CLIP tower, the conditioning encoder, the first-stage decoder and the latent scale
    /// factor of `source` (e.g. an autoencoder stage's model), keeping this model's UNet: a UNet
    /// of another width can then train on an existing VAE. The three parts must have the same
    /// configurations in both models.
    public func adoptEncodersAndDecoder(of source: StableVideoModel) throws {
        let (mine, theirs) = (config, source.config)
        guard mine.clip == theirs.clip, mine.conditioningEncoder.hasSameArchitecture(as: theirs.conditioningEncoder),
              mine.firstStage.hasSameArchitecture(as: theirs.firstStage), mine.imageSize == theirs.imageSize else {
            throw StableVideoModelError.unrecognised("the model's CLIP tower, encoder, decoder or image size differ from the source's, so its weights cannot be taken")
        }
        try clip.load(Self.parameters(of: source.clip))
        try conditioningEncoder.load(Self.parameters(of: source.conditioningEncoder))
        try decoder.load(Self.parameters(of: source.decoder))
        setLatentScaleFactor(source.config.firstStage.scaleFactor)
    }

    /// How `replacingDecoder` starts the new decoder.
    public enum DecoderInitialisation: Equatable, Sendable {
        /// Random weights from `seed` (a decoder to train from scratch).
        case random(seed: UInt64)
        /// This model's decoder widened by `DecoderWidening` (the new width a whole multiple of
        /// the old, the same ch_mult and block count), plus noise of relative size
        /// `perturbation` from `seed`; with 0 it decodes as this model's does, up to rounding.
        case widened(perturbation: Float, seed: UInt64)
    }

    /// A copy of this model whose first-stage decoder is new: `decoderArchitecture`'s
    /// (`ch`, `ch_mult`, `num_res_blocks`...; its scale factor is ignored, this model's is kept),
    /// started as `initialisation` says. The UNet, CLIP tower and conditioning encoder are this
    /// model's. The latents stay the same, so a decoder of another width can be trained on them
    /// (`svdmv train --part decoder --decoder-channels`).
    public func replacingDecoder(with decoderArchitecture: AutoencoderConfig,
                                 initialisation: DecoderInitialisation) throws -> StableVideoModel {
        if let problem = decoderArchitecture.architectureProblem {
            throw StableVideoModelError.architecture("new first-stage decoder: \(problem)")
        }
        var newConfig = config
        newConfig.firstStage = decoderArchitecture
        newConfig.firstStage.scaleFactor = config.firstStage.scaleFactor
        let model = StableVideoModel(newConfig)
        switch initialisation {
        case .random(let seed):
            model.decoder.initializeRandomly(seed: seed)
        case .widened(let perturbation, let seed):
            let old = config.firstStage.baseChannels, new = decoderArchitecture.baseChannels
            guard config.firstStage.hasSameArchitecture(as: decoderArchitecture, ignoringWidth: true),
                  new >= old, new % old == 0 else {
                throw StableVideoModelError.architecture("a widened decoder keeps the checkpoint's decoder architecture except ch, which must be a whole multiple of its ch \(old) (asked: ch \(new), ch_mult \(decoderArchitecture.channelMultipliers); the checkpoint's: ch \(old), ch_mult \(config.firstStage.channelMultipliers))")
            }
            var shapes: [String: [Int]] = [:]
            model.decoder.visitParameters { k, t in shapes[k] = t.shape }
            do {
                try model.decoder.load(DecoderWidening.widen(Self.parameters(of: decoder), to: shapes,
                                                             perturbation: perturbation, seed: seed))
            } catch {
                throw StableVideoModelError.architecture("widening the first-stage decoder: \(error)")
            }
        }
        try model.unet.load(Self.parameters(of: unet))
        try model.clip.load(Self.parameters(of: clip))
        try model.conditioningEncoder.load(Self.parameters(of: conditioningEncoder))
        return model
    }

    private static func parameters(of module: Module) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        module.visitParameters { k, t in out[k] = t }
        return out
    }

    /// Every parameter under its full checkpoint key.
    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        unet.visitParameters { k, t in body(Self.unetPrefix + k, &t) }
        clip.visitParameters { k, t in body(Self.clipPrefix + k, &t) }
        let encoderPrefix = config.variant.conditioningEncoderPrefix
        conditioningEncoder.visitParameters { k, t in body(encoderPrefix + k, &t) }
        decoder.visitParameters { k, t in body(Self.decoderPrefix + k, &t) }
    }

    /// The configuration of a checkpoint: ours from its metadata, official ones by the UNet's
    /// vector width.
    public static func config(of file: SafeTensorsFile) throws -> StableVideoModelConfig {
        if let json = file.metadata?[StableVideoModelConfig.metadataKey] {
            let config: StableVideoModelConfig
            do {
                config = try JSONDecoder().decode(StableVideoModelConfig.self, from: Data(json.utf8))
            } catch {
                throw StableVideoModelError.unrecognised("\(file.path): metadata \(StableVideoModelConfig.metadataKey) is not a model config (\(error))")
            }
            for (name, part) in [("firstStage", config.firstStage), ("conditioningEncoder", config.conditioningEncoder)] {
                if let problem = part.architectureProblem {
                    throw StableVideoModelError.unrecognised("\(file.path): metadata \(StableVideoModelConfig.metadataKey), \(name): \(problem)")
                }
            }
            return config
        }
        let labelKey = unetPrefix + "label_emb.0.0.weight"
        guard file.contains(labelKey) else {
            throw StableVideoModelError.unrecognised("\(file.path) has no \(labelKey) (and no \(StableVideoModelConfig.metadataKey) metadata)")
        }
        switch try file.info(labelKey).shape {
        case [1280, 1280]: return .sv3dP
        case [1280, 256]: return .sv3dU
        case [1280, 768]: return .svd
        case let shape:
            throw StableVideoModelError.unrecognised("\(file.path): \(labelKey) has shape \(shape); sv3d_p has [1280, 1280], sv3d_u [1280, 256], svd and svd_xt [1280, 768]")
        }
    }

    /// Loads a checkpoint strictly: every parameter of the four parts present with its shape, and
    /// every key under the four prefixes used, except the CLIP text-tower leftovers sgm keeps.
    /// Keys of other parts of an sgm checkpoint (e.g. other embedders) are not read. Errors name the
    /// full checkpoint keys.
    ///
    /// `weightPrecision` is how the layer weights (Linear, Conv2d, temporal convolutions: nearly
    /// all parameters) are kept in memory; arithmetic is Float32 either way. nil (the default)
    /// takes the dtype of the UNet's weights in the file, so an F16 checkpoint stays F16 (about
    /// half the memory, inference only). Training must pass `.float32`. Tensors are read one by one
    /// from the mapped file; F16/BF16 data kept in its own dtype is used in place, never copied.
    public static func load(_ url: URL, weightPrecision: DType? = nil) throws -> StableVideoModel {
        let file = try SafeTensorsFile(url: url)
        let model = StableVideoModel(try config(of: file))
        let precision = try weightPrecision ?? storedPrecision(of: file)
        do {
            try model.load(from: file, weightPrecision: precision, ignoring: unusedCheckpointKeys,
                           checkingKeysUnder: [unetPrefix, clipPrefix, model.config.variant.conditioningEncoderPrefix, decoderPrefix])
        } catch {
            throw StableVideoModelError.weights(part: "SV3D checkpoint \(file.path)", underlying: error)
        }
        return model
    }

    /// The dtype the checkpoint stores its UNet's weights in (of its output convolution, which
    /// every UNet has).
    public static func storedPrecision(of file: SafeTensorsFile) throws -> DType {
        try file.storedDType(unetPrefix + "out.2.weight")
    }

    /// Keys under the four prefixes that an sgm checkpoint carries but the model does not use (the
    /// CLIP embedder's text-tower leftovers).
    public static let unusedCheckpointKeys = Set(OpenCLIPImageEmbedder.unusedCheckpointKeys.map { clipPrefix + $0 })

    /// Writes every parameter under its checkpoint key with the config in the metadata.
    public func save(to url: URL, dtype: DType = .float32) throws {
        var tensors: [String: Tensor] = [:]
        visitParameters { k, t in tensors[k] = t }
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        try SafeTensors.write(tensors, dtype: dtype, metadata: [StableVideoModelConfig.metadataKey: json], to: url)
    }
}

extension StableVideoModelConfig {
    /// The bundled default model's structure: SV3D_p with the tiny UNet and CLIP tower of
    /// `tinySV3DP` but three-level (4x) VAEs, so 64x64 images become 16x16 latents (at 8x, 8x8
    /// latents of 64x64 orbits lose the shapes' outlines).
    public static let small = StableVideoModelConfig(
        variant: .sv3dP, unet: .tinySV3DP, clip: tinySV3DP.clip,
        conditioningEncoder: AutoencoderConfig(baseChannels: 32, channelMultipliers: [1, 2, 2], resBlockCount: 1,
                                               hasQuantConvs: true),
        firstStage: AutoencoderConfig(baseChannels: 32, channelMultipliers: [1, 2, 2], resBlockCount: 1,
                                      hasQuantConvs: false),
        imageSize: 64)

    /// This structure with `count` latent channels: both VAEs' `z_channels`/`embed_dim`, and the
    /// UNet's input (noisy latents | concat latent, 2·count) and output (count) widths with them.
    /// SV3D's VAE has 4; more keep more of a small image's detail through the round trip.
    public func withLatentChannels(_ count: Int) -> StableVideoModelConfig {
        var config = self
        config.conditioningEncoder.latentChannels = count
        config.firstStage.latentChannels = count
        config.unet.inChannels = 2 * count
        config.unet.outChannels = count
        return config
    }

    /// `small` with the UNet twice as wide (`VideoUNetConfig.wideSV3DP`, 64 channels).
    public static let wide: StableVideoModelConfig = {
        var config = StableVideoModelConfig.small
        config.unet = .wideSV3DP
        return config
    }()

    /// A small SV3D_p-structured model (the UNet VideoUNetConfig.tinySV3DP, a 2-layer CLIP tower and
    /// four-level (8x) VAEs, 64x64 images and 8x8 latents): the base of tests and of the bundled default model.
    public static let tinySV3DP = StableVideoModelConfig(
        variant: .sv3dP, unet: .tinySV3DP,
        clip: VisionTransformerConfig(imageSize: 224, patchSize: 14, width: 64, layerCount: 2, headCount: 2,
                                      mlpWidth: 256, outputWidth: 32),
        conditioningEncoder: AutoencoderConfig(baseChannels: 32, channelMultipliers: [1, 1, 2, 2], resBlockCount: 1,
                                               hasQuantConvs: true),
        firstStage: AutoencoderConfig(baseChannels: 32, channelMultipliers: [1, 1, 2, 2], resBlockCount: 1,
                                      hasQuantConvs: false),
        imageSize: 64)
}
