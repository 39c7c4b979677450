"""The Segment Anything network in torch: encoders, prompt encoder, mask decoder, checkpoints."""
