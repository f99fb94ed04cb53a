"""ECR: make moto 5.2.5 report what AWS reports, where the product relies on it.

- CreateRepository with KMS encryption records the key's ARN, whatever form ``kmsKey`` was given
  in (key ID, alias name, alias ARN); moto echoes the value as given.
"""

from moto.ecr import models as ecr_models
from moto.kms.models import kms_backends


def _determine_encryption_config(self, encryption_config):
    config = _determine_encryption_config.__wrapped__(self, encryption_config)
    key = config.get("kmsKey")
    if key and not (key.startswith("arn:") and ":key/" in key):
        kms = kms_backends[self.account_id][self.region_name]
        config["kmsKey"] = kms.keys[kms.any_id_to_key_id(key)].arn
    return config


def apply():
    current = ecr_models.Repository._determine_encryption_config
    if getattr(current, "_notejam_patched", False):
        return
    _determine_encryption_config.__wrapped__ = current
    _determine_encryption_config._notejam_patched = True
    ecr_models.Repository._determine_encryption_config = _determine_encryption_config
