// The KL autoencoder as sgm uses it: `AutoencodingEngine` (first stage: encoder, decoder) and the
// legacy `AutoencodingEngineLegacy`/`AutoencoderKL` (adds quant_conv and post_quant_conv), from
// generative-models sgm/models/autoencoder.py, with the posterior of
// sgm/modules/distributions/distributions.py `DiagonalGaussianDistribution` and the chunked
// decoding of sgm/models/diffusion.py `decode_first_stage`. Keys, relative to the model prefix
// (`first_stage_model.` or `conditioner.embedders.<i>.encoder.`): encoder.*, decoder.*,
// quant_conv.*, post_quant_conv.*.

import Foundation
import NN
import Tensor

/// The encoder's posterior N(mean, exp(logvar)) per latent element; [N, z, h, w] each.
public struct DiagonalGaussian {
    public let mean: Tensor
    /// Clamped to [-30, 20] as in sgm.
    public let logVariance: Tensor

    /// moments [N, 2z, h, w] -> mean = first z channels, log-variance = the rest (clamped).
    public init(moments: Tensor) {
        let halves = moments.chunked(2, axis: 1)
        mean = halves[0]
        logVariance = halves[1].clamped(-30, 20)
    }

    public var standardDeviation: Tensor { (logVariance * 0.5).exp() }
    /// The distribution's mode (what `AutoencoderKLModeOnly` and the SVD/SV3D conditioning use).
    public var mode: Tensor { mean }

    /// mean + std · ε with ε = torch.randn(mean.shape) after torch.manual_seed(seed).
    public func sample(seed: UInt64) -> Tensor {
        var generator = TorchGenerator(seed: seed)
        return sample(using: &generator)
    }

    public func sample(using generator: inout TorchGenerator) -> Tensor {
        mean + standardDeviation * generator.randn(mean.shape)
    }
}

/// Where the released checkpoints keep it (strip the prefix, then `load`):
/// - SVD / SVD-XT first stage: `first_stage_model.` -> `AutoencoderKL(config: .svdFirstStage)`.
/// - SV3D first stage: only `first_stage_model.decoder.` (its encoder is Identity) ->
///   `VAEDecoder(config: .sv3dFirstStage)`, run without post_quant_conv as sgm does.
/// - The conditioning-frame encoder: `conditioner.embedders.1.encoder.` (SV3D) or
///   `conditioner.embedders.3.encoder.` (SVD) -> `AutoencoderKL(config: .conditioningEncoder)`,
///   used as `encode(x).mode` with no scale factor.
public final class AutoencoderKL: Module {
    public let config: AutoencoderConfig
    public let encoder: VAEEncoder
    public let decoder: VAEDecoder
    public let quantConv: Conv2d?
    public let postQuantConv: Conv2d?

    public init(config: AutoencoderConfig, allocation: ParameterAllocation = .zeros) {
        self.config = config
        encoder = VAEEncoder(config: config, allocation: allocation)
        decoder = VAEDecoder(config: config, allocation: allocation)
        let z = config.latentChannels
        quantConv = config.hasQuantConvs ? allocation.conv2d(2 * z, 2 * z, kernelSize: 1) : nil
        postQuantConv = config.hasQuantConvs ? allocation.conv2d(z, z, kernelSize: 1) : nil
    }

    /// Images [N, 3, H, W] in [-1, 1] -> posterior over unscaled latents [N, z, H/f, W/f].
    public func encode(_ x: Tensor) -> DiagonalGaussian {
        let moments = encoder(x)
        return DiagonalGaussian(moments: quantConv.map { $0(moments) } ?? moments)
    }

    /// Unscaled latents [B·T, z, h, w] -> images [B·T, 3, f·h, f·w], `frameCount` frames per video
    /// for the temporal decoder.
    public func decode(_ z: Tensor, frameCount: Int = 1) -> Tensor {
        decoder(postQuantConv.map { $0(z) } ?? z, frameCount: frameCount)
    }

    /// sgm `decode_first_stage`: diffusion latents [N, z, h, w] (scaled by `scaleFactor`) are
    /// unscaled and decoded `chunkSize` rows at a time (`en_and_decode_n_samples_a_time`,
    /// `decoding_t`); the temporal decoder treats each chunk as one video of its length, so its
    /// temporal convolutions zero-pad at chunk borders, exactly as sgm does.
    public func decodeFirstStage(_ latents: Tensor, chunkSize: Int? = nil) -> Tensor {
        let z = latents * (1 / config.scaleFactor)
        let n = z.shape[0], size = max(1, chunkSize ?? n)
        let chunks = stride(from: 0, to: n, by: size).map { start -> Tensor in
            let part = z.sliced(axis: 0, start..<min(start + size, n))
            return decode(part, frameCount: config.video == nil ? 1 : part.shape[0])
        }
        return chunks.count == 1 ? chunks[0] : Tensor.concatenated(chunks, axis: 0)
    }

    /// sgm `encode_first_stage` with the sampling regulariser: images [N, 3, H, W] encoded
    /// `chunkSize` at a time, each chunk sampled with the next `randn` of one generator seeded
    /// with `seed` (sgm's torch.manual_seed(seed) then one draw per chunk), times `scaleFactor`.
    public func encodeFirstStage(_ x: Tensor, seed: UInt64, chunkSize: Int? = nil) -> Tensor {
        var generator = TorchGenerator(seed: seed)
        let n = x.shape[0], size = max(1, chunkSize ?? n)
        let chunks = stride(from: 0, to: n, by: size).map { start -> Tensor in
            encode(x.sliced(axis: 0, start..<min(start + size, n))).sample(using: &generator)
        }
        return (chunks.count == 1 ? chunks[0] : Tensor.concatenated(chunks, axis: 0)) * config.scaleFactor
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(encoder, "encoder", body)
        visit(decoder, "decoder", body)
        visit(quantConv, "quant_conv", body)
        visit(postQuantConv, "post_quant_conv", body)
    }
}
