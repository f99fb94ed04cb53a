"""ecr_image_info: found and missing by tag and digest, a missing repository, bad input, no write."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.ecr_image_info import main

from tests.emulator.fixes.ecr import OCI_MANIFEST, minimal_manifest

REPOSITORY = "notejam-test-app"


@pytest.fixture
def pushed(aws):
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY, imageTagMutability="IMMUTABLE")
    image = ecr.put_image(
        repositoryName=REPOSITORY,
        imageManifest=minimal_manifest("abc123"),
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="abc123",
    )["image"]
    return image["imageId"]["imageDigest"]


def test_finds_a_pushed_tag_and_its_digest_and_names_the_missing(pushed, run_module, api_calls):
    result = run_module(main, {"repository_name": REPOSITORY, "images": ["abc123", pushed, "0.9.0"]})
    assert result["changed"] is False
    assert result["repository_exists"] is True
    assert [f["requested"] for f in result["found"]] == ["abc123", pushed]
    assert {f["image_digest"] for f in result["found"]} == {pushed}
    assert result["found"][0]["image_tags"] == ["abc123"]
    assert result["missing"] == ["0.9.0"]
    assert api_calls.writes == []


def test_a_repository_that_does_not_exist_has_every_image_missing(aws, run_module, api_calls):
    result = run_module(main, {"repository_name": "notejam-none-app", "images": ["0.1.0"]}, check=True)
    assert result["repository_exists"] is False
    assert result["missing"] == ["0.1.0"]
    assert api_calls == ["DescribeRepositories"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"repository_name": "Notejam", "images": ["0.1.0"]}, "repository_name='Notejam'"),
        ({"repository_name": REPOSITORY, "images": ["-bad"]}, "images=['-bad']"),
        ({"repository_name": REPOSITORY, "images": ["sha256:XYZ"]}, "sha256:<64 lowercase hex>"),
    ],
    ids=["repository-name", "tag", "digest"],
)
def test_bad_input_fails_before_any_call(aws, run_module, api_calls, args, expected):
    result = run_module(main, args)
    assert result["failed"] is True
    assert expected in result["msg"]
    assert api_calls == []
