// Using SVDMV as a library: load an SV3D checkpoint strictly (every tensor the model needs is
// there with its shape, and no unexpected one under the model's prefixes), run its UNet once on
// given tensors, and write the result.
//
//   LibraryExample MODEL.safetensors INPUTS.safetensors OUT.safetensors
//
// INPUTS holds x [T, 8, h, w] (the noisy latents and the conditioning latent, concatenated on
// channels), timesteps [T] (c_noise = ln(σ) / 4), context [T, 1, 1024] (CLIP image tokens) and
// y [T, 1280] (sv3d_p's vector: cond_aug, polar and azimuth embeddings), for one video of T frames.

import Foundation
import Generation
import Tensor

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: LibraryExample MODEL.safetensors INPUTS.safetensors OUT.safetensors\n".utf8))
    exit(2)
}
do {
    let model = try StableVideoModel.load(URL(fileURLWithPath: arguments[1]))
    let inputs = try SafeTensorsFile(url: URL(fileURLWithPath: arguments[2]))
    let x = try inputs.tensor("x"), timesteps = try inputs.tensor("timesteps")
    let context = try inputs.tensor("context"), y = try inputs.tensor("y")
    let output = GradMode.withoutGradients {
        model.unet(x, timesteps: timesteps, context: context, y: y, frames: x.shape[0])
    }
    try SafeTensors.write(["output": output], to: URL(fileURLWithPath: arguments[3]))
    print("wrote \(arguments[3]): output \(output.shape)")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
