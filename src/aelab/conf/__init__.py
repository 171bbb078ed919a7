"""The Hydra configs of the apps (train, evaluate, encode, decode, export), shipped inside the package so an
installed aelab composes them from any folder (Hydra finds them as the module aelab.conf)."""
