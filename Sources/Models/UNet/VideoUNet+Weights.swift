// Loading the VideoUNet from a whole sgm checkpoint (sv3d_p.safetensors etc.), whose UNet tensors
// sit under `model.diffusion_model.` beside `conditioner.*` and `first_stage_model.*`.

import Foundation
import NN
import Tensor

extension VideoUNet {
    /// Prefix of the UNet's keys in an sgm DiffusionEngine checkpoint.
    public static let checkpointPrefix = "model.diffusion_model."

    /// Loads every tensor under `model.diffusion_model.` strictly (each parameter present with its
    /// exact shape, no unknown key under the prefix); keys outside the prefix belong to other models
    /// and are not looked at.
    public func load(checkpoint tensors: [String: Tensor]) throws {
        let prefix = Self.checkpointPrefix
        var own: [String: Tensor] = [:]
        for (key, value) in tensors where key.hasPrefix(prefix) { own[String(key.dropFirst(prefix.count))] = value }
        try load(own)
    }
}
