"""ECR: make moto 5.2.5 report what AWS reports, where the product relies on it; and the local
"first build" of the demo and the tests.

- CreateRepository with KMS encryption records the key's ARN, whatever form ``kmsKey`` was given
  in (key ID, alias name, alias ARN); moto echoes the value as given.

- PutReplicationConfiguration takes up to 10 rules, each with up to 25 destinations, none of them the
  source registry in its own region ("ReplicationConfiguration" and "ReplicationRule" in the Amazon
  ECR API reference, https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ReplicationRule.html);
  moto refused any configuration of more than one rule ("This feature is disabled"), so a registry
  whose replication is shared by several repositories could not be represented.

- An image's digest is the sha256 of its manifest, as AWS reports it
  (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageIdentifier.html: "The sha256
  digest of the image manifest"); moto hashes the list of layer digests, so every image without
  layers (the first build's below) had the same digest.

- PutImage into a repository with scan on push starts the image's scan, as AWS basic scanning
  does (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html: "each
  image is scanned after being pushed"); moto starts a scan only on StartImageScan, so
  DescribeImageScanFindings answered ScanNotFoundException for every pushed image. The findings
  are moto's (one HIGH by default; tests set others through moto's scan-finding-results API).

- The first build (harness only, not an AWS behaviour): on AWS the first image of an environment
  is pushed by the pipeline (buildspecs/build.yml) or by a person with docker, after site.yml has
  created the repository; site.yml stops before the migration task and the service until it is
  there (roles/ecs_service/tasks/image_check.yml). This machine has no docker daemon, so when the
  emulator is started with ``NOTEJAM_EMULATOR_FIRST_BUILD=<tag>[,<tag>...]`` (tests/emulator/ctl.py
  does, with the tag the shipped inventories name), every repository created gets, right after its
  creation, an image with each tag: a minimal OCI image manifest put with PutImage, as a push would
  leave it. Without the variable nothing is added and the emulator behaves as AWS does.
"""

import hashlib
import json
import os
from datetime import datetime

from moto.ecr import models as ecr_models
from moto.ecr.exceptions import InvalidParameterException
from moto.kms.models import kms_backends

from tests.emulator.ctl import FIRST_BUILD_ENV

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def minimal_manifest(label):
    """A minimal OCI image manifest (no layers) whose digest differs for each ``label``.

    https://github.com/opencontainers/image-spec/blob/main/manifest.md: schemaVersion 2, a config
    descriptor (media type, digest, size) and a layers list. ECR's PutImage stores it as given."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"build": label}}})
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(config.encode()).hexdigest(),
                "size": len(config),
            },
            "layers": [],
            "annotations": {"org.opencontainers.image.revision": label},
        },
        sort_keys=True,
    )


def first_build_tags():
    return [t.strip() for t in os.environ.get(FIRST_BUILD_ENV, "").split(",") if t.strip()]


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


def _create_digest(self):
    self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode("utf-8")).hexdigest()


def _put_image(self, repository_name, *args, **kwargs):
    image = _put_image.__wrapped__(self, repository_name, *args, **kwargs)
    repository = self.repositories[repository_name]
    if (repository.image_scanning_configuration or {}).get("scanOnPush") and not image.last_scan:
        image.last_scan = datetime.today()
    return image


def _create_repository(self, repository_name, *args, **kwargs):
    repository = _create_repository.__wrapped__(self, repository_name, *args, **kwargs)
    for tag in first_build_tags():
        self.put_image(repository_name, minimal_manifest(f"{repository_name}:{tag}"), tag, OCI_MANIFEST)
    return repository


def apply():
    ecr_models.ECRBackend.put_replication_configuration = _put_replication_configuration
    current = ecr_models.Repository._determine_encryption_config
    if getattr(current, "_notejam_patched", False):
        return
    _determine_encryption_config.__wrapped__ = current
    _determine_encryption_config._notejam_patched = True
    ecr_models.Repository._determine_encryption_config = _determine_encryption_config
    ecr_models.Image._create_digest = _create_digest
    _put_image.__wrapped__ = ecr_models.ECRBackend.put_image
    ecr_models.ECRBackend.put_image = _put_image
    _create_repository.__wrapped__ = ecr_models.ECRBackend.create_repository
    ecr_models.ECRBackend.create_repository = _create_repository
