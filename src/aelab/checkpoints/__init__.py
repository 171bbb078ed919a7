"""Checkpoints: verified before they are read (integrity), read as data and rebuilt only from allowed classes
(loading), and carrying what evaluating or resuming needs beyond the weights (recording).

This unit sits below the models: they write and check the model class through it, and it names them only as strings.
"""

from aelab.checkpoints.integrity import (
    DIGEST_SUFFIX,
    DigestCheckpointIO,
    digest_path,
    file_sha256,
    pending_digest_path,
    read_verified,
    save_with_digest,
    verify_archive,
    verify_checkpoint_file,
    verify_digest,
    write_digest,
)
from aelab.checkpoints.keys import (
    CONFIG_KEY,
    DATA_RECORD_KEY,
    DEFAULT_MODEL_CLASS,
    MODEL_CLASS_KEY,
    PREPROCESSING_KEY,
    WANDB_RUN_KEY,
)
from aelab.checkpoints.loading import (
    check_model_kind,
    check_same_model,
    class_path,
    load_checkpoint,
    load_model,
    model_class_of,
    read_checked,
    run_dir_of,
    stored_data_config,
)
from aelab.checkpoints.recording import INTERRUPTED_NAME, ConfigInCheckpoint, InterruptCheckpoint, ResumeState

__all__ = [
    "CONFIG_KEY",
    "DATA_RECORD_KEY",
    "DEFAULT_MODEL_CLASS",
    "DIGEST_SUFFIX",
    "INTERRUPTED_NAME",
    "MODEL_CLASS_KEY",
    "PREPROCESSING_KEY",
    "WANDB_RUN_KEY",
    "ConfigInCheckpoint",
    "DigestCheckpointIO",
    "InterruptCheckpoint",
    "ResumeState",
    "check_model_kind",
    "check_same_model",
    "class_path",
    "digest_path",
    "file_sha256",
    "load_checkpoint",
    "load_model",
    "model_class_of",
    "pending_digest_path",
    "read_checked",
    "read_verified",
    "run_dir_of",
    "save_with_digest",
    "stored_data_config",
    "verify_archive",
    "verify_checkpoint_file",
    "verify_digest",
    "write_digest",
]
