"""The keys aelab adds to a Lightning checkpoint."""

CONFIG_KEY = "aelab_config"  # the resolved run config (evaluate.py rebuilds the same data from it)
MODEL_CLASS_KEY = "aelab_model_class"  # which LightningModule class wrote a checkpoint (AutoEncoder, VAE, ...)
DEFAULT_MODEL_CLASS = "aelab.models.autoencoder.AutoEncoder"  # checkpoints written before the key existed
WANDB_RUN_KEY = "aelab_wandb_run_id"  # lets a resumed run continue the same W&B run
DATA_RECORD_KEY = "aelab_data_record"  # which files each split held, so evaluate.py can tell a changed folder
PREPROCESSING_KEY = "aelab_preprocessing"  # how source images become model inputs (data/preprocessing.py)
