"""ECR: make moto 5.2.5 report what AWS reports, where the product relies on it.

- CreateRepository with KMS encryption records the key's ARN, whatever form ``kmsKey`` was given
  in (key ID, alias name, alias ARN); moto echoes the value as given.
- PutReplicationConfiguration takes up to 10 rules, each with up to 25 destinations, none of them the
  source registry in its own region ("ReplicationConfiguration" and "ReplicationRule" in the Amazon
  ECR API reference, https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ReplicationRule.html);
  moto refused any configuration of more than one rule ("This feature is disabled"), so a registry
  whose replication is shared by several repositories could not be represented.
"""

from moto.ecr import models as ecr_models
from moto.ecr.exceptions import InvalidParameterException
from moto.kms.models import kms_backends


def _determine_encryption_config(self, encryption_config):
    config = _determine_encryption_config.__wrapped__(self, encryption_config)
    key = config.get("kmsKey")
    if key and not (key.startswith("arn:") and ":key/" in key):
        kms = kms_backends[self.account_id][self.region_name]
        config["kmsKey"] = kms.keys[kms.any_id_to_key_id(key)].arn
    return config


def _put_replication_configuration(self, replication_config):
    rules = replication_config.get("rules") or []
    if len(rules) > 10:
        raise InvalidParameterException(
            "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "
            "'Member must have length less than or equal to 10'"
        )
    for rule in rules:
        destinations = rule.get("destinations") or []
        if not 1 <= len(destinations) <= 25:
            raise InvalidParameterException(
                "Invalid parameter at 'destinations' failed to satisfy constraint: "
                "'Member must have length between 1 and 25'"
            )
        for dest in destinations:
            if dest.get("region") == self.region_name and dest.get("registryId") == self.account_id:
                raise InvalidParameterException(
                    "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "
                    "'Replication destination cannot be the same as the source registry'"
                )
    self.replication_config = replication_config
    return {"replicationConfiguration": replication_config}


def apply():
    ecr_models.ECRBackend.put_replication_configuration = _put_replication_configuration
    current = ecr_models.Repository._determine_encryption_config
    if getattr(current, "_notejam_patched", False):
        return
    _determine_encryption_config.__wrapped__ = current
    _determine_encryption_config._notejam_patched = True
    ecr_models.Repository._determine_encryption_config = _determine_encryption_config
