"""SVDMV's finetuning and sampling on PyTorch: our sgm-keyed checkpoints <-> diffusers'
UNetSpatioTemporalConditionModel (checkpoint, unet_keys, unet_config), sgm's VideoUNet forward
with per-frame conditioning (unet_forward, conditioning), the frozen conditioners and decoder
(encoders, decoder), our WebDataset shards (data), `svdmv train`'s objective (objective, ema,
lora), the accelerate entry point (train, run_state), EDM sampling to our output files
(sampling, sample, cameras) and the conversion command (convert). See python/README.md."""
