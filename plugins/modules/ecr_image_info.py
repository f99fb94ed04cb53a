#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: ecr_image_info
short_description: Say whether images (by tag or digest) are in an ECR repository
version_added: 0.1.0
description:
  - Looks each image up with ECR C(DescribeImages) and returns the ones found and the ones missing,
    so a play can stop before it starts a task or a service on an image that was never pushed.
  - A repository that does not exist is not an error; RV(repository_exists) is then false and
    every image is missing.
  - Only reads; runs in check mode.
author:
  - Notejam maintainers (@notejam)
options:
  repository_name:
    description: Name of the repository, in the caller's registry.
    type: str
    required: true
  images:
    description:
      - The images to look for, each a tag (C(0.1.0), a commit SHA) or a digest (C(sha256:<64 hex>)).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Is the image to deploy in the repository?
  notejam.aws.ecr_image_info:
    repository_name: notejam-dev-app
    images: ["{{ image_tag }}"]
  register: pushed

- name: Stop unless it is
  ansible.builtin.assert:
    that: pushed.missing | length == 0
    fail_msg: "{{ image_tag }} is not in notejam-dev-app"
"""

RETURN = r"""
repository_exists:
  description: Whether the repository exists.
  returned: always
  type: bool
found:
  description: The images found, in the order asked for.
  returned: always
  type: list
  elements: dict
  contains:
    requested:
      description: The tag or digest as asked for.
      type: str
    image_digest:
      description: The image's manifest digest.
      type: str
    image_tags:
      description: Every tag of the image.
      type: list
      elements: str
    image_pushed_at:
      description: When the image was pushed (ISO 8601).
      type: str
    image_scan_status:
      description: The scan's status (for example C(COMPLETE), C(IN_PROGRESS)), when scanned.
      type: str
missing:
  description: The tags and digests asked for that are not in the repository.
  returned: always
  type: list
  elements: str
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.resource import retrying_client

# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName)
REPOSITORY_NAME = re.compile(r"^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
# A tag as docker push accepts it (ECR's own limit is 300 characters), or an image manifest digest.
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
IMAGE_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


def image_id(reference):
    """The DescribeImages imageId for a tag or a digest."""
    if reference.startswith("sha256:"):
        return {"imageDigest": reference}
    return {"imageTag": reference}


def validate(module):
    name = module.params["repository_name"]
    if not REPOSITORY_NAME.match(name):
        module.fail_json(
            msg=f"repository_name={name!r} is not an ECR repository name "
            "(2-256 lowercase letters, digits and ._-/ separators)"
        )
    bad = [ref for ref in module.params["images"] if not (IMAGE_DIGEST.match(ref) or IMAGE_TAG.match(ref))]
    if bad:
        module.fail_json(
            msg=f"images={bad!r}: each must be a tag (letters, digits, _ . -, at most 128, not starting "
            "with . or -) or a digest sha256:<64 lowercase hex>"
        )


def describe(client, repository, reference):
    """The image's description, or None when the repository has no such image."""
    try:
        images = client.describe_images(repositoryName=repository, imageIds=[image_id(reference)])
    except is_boto3_error_code("ImageNotFoundException"):
        return None
    return (images.get("imageDetails") or [None])[0]


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "repository_name": {"type": "str", "required": True},
            "images": {"type": "list", "elements": "str", "required": True},
        },
        supports_check_mode=True,
    )
    validate(module)
    client = retrying_client(module, "ecr")
    repository = module.params["repository_name"]
    found, missing = [], []
    try:
        client.describe_repositories(repositoryNames=[repository])
    except is_boto3_error_code("RepositoryNotFoundException"):
        module.exit_json(
            changed=False, repository_exists=False, found=[], missing=list(module.params["images"])
        )
    except Exception as e:  # noqa: BLE001 - reported with the AWS error's details
        module.fail_json_aws(e, msg=f"Could not read ECR repository {repository}")
    for reference in module.params["images"]:
        try:
            detail = describe(client, repository, reference)
        except Exception as e:  # noqa: BLE001 - reported with the AWS error's details
            module.fail_json_aws(e, msg=f"Could not look for image {reference} in {repository}")
        if detail is None:
            missing.append(reference)
            continue
        pushed = detail.get("imagePushedAt")
        found.append(
            {
                "requested": reference,
                "image_digest": detail["imageDigest"],
                "image_tags": detail.get("imageTags", []),
                "image_pushed_at": pushed.isoformat() if hasattr(pushed, "isoformat") else pushed,
                "image_scan_status": (detail.get("imageScanStatus") or {}).get("status"),
            }
        )
    module.exit_json(changed=False, repository_exists=True, found=found, missing=missing)


if __name__ == "__main__":
    main()
