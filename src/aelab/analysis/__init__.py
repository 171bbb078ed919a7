"""Ways to look at what an autoencoder learned: codes, probes, latent arithmetic."""
