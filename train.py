"""Train an autoencoder: python train.py model=conv data=fashion_mnist (see --help for the config groups).

The same app is installed as the console command ``aelab-train``; its configs live in src/aelab/conf (``conf/``)."""

from aelab.apps import train_main

if __name__ == "__main__":
    train_main()
