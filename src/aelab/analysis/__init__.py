"""Ways to look at what an autoencoder learned: codes, probes, latent paths, t-SNE, retrieval, anomaly scores, a CNN
on reconstructions, compression. Each takes encode / decode / reconstruct functions, so PCA and any model fit."""
