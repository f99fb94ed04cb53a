"""buildspecs/bin/stage.py: the checks and ECR steps of the pipeline's stages (moto in-process)."""

import importlib.util
import io

import boto3
import pytest

from tests.emulator.fixes.ecr import OCI_MANIFEST, minimal_manifest
from tests.unit.conftest import REPO

spec = importlib.util.spec_from_file_location("stage", REPO / "buildspecs" / "bin" / "stage.py")
stage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stage)

SHA = "3f2a9c1d0b7e4f5a6c8d9e0f1a2b3c4d5e6f7a8b"
URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/notejam-dev-app"
BUILD_ENV = {"NOTEJAM_IMAGE_TAG": SHA, "NOTEJAM_ECR_REPOSITORY_URI": URI, "AWS_REGION": "us-east-1"}


def test_each_stage_checks_what_it_needs():
    assert stage.check_env("build", BUILD_ENV) == []
    assert stage.check_env("deploy", {"NOTEJAM_IMAGE_TAG": SHA, "NOTEJAM_ENV": "prod"}) == []
    assert stage.check_env("deploy", {"NOTEJAM_IMAGE_TAG": SHA}) == ["NOTEJAM_ENV is not set"]
    assert stage.check_env("test", {}) == []


@pytest.mark.parametrize(
    ("stage_name", "environ", "expected"),
    [
        (
            "deploy",
            {"NOTEJAM_IMAGE_TAG": SHA, "NOTEJAM_ENV": "staging"},
            "NOTEJAM_ENV='staging' is not accepted: one of ",
        ),
        ("deploy", {"NOTEJAM_IMAGE_TAG": "latest", "NOTEJAM_ENV": "dev"}, "NOTEJAM_IMAGE_TAG='latest'"),
        (
            "build",
            dict(BUILD_ENV, NOTEJAM_ECR_REPOSITORY_URI="docker.io/notejam"),
            "NOTEJAM_ECR_REPOSITORY_URI=",
        ),
        ("build", dict(BUILD_ENV, AWS_REGION="eu-west-1"), "is in us-east-1 but AWS_REGION=eu-west-1"),
        ("build", {}, "NOTEJAM_IMAGE_TAG is not set"),
    ],
    ids=["unknown-env", "latest", "not-ecr", "other-region", "nothing-set"],
)
def test_bad_settings_name_the_variable(stage_name, environ, expected):
    problems = stage.check_env(stage_name, environ)
    assert any(expected in p for p in problems), problems
    assert stage.main(["check-env", stage_name], environ=environ) == 2


def test_the_shipped_environments_are_accepted_by_deploy():
    assert {"dev", "test", "prod"} <= set(stage.inventories())


@pytest.fixture
def repository(aws):
    ecr = boto3.client("ecr")
    ecr.create_repository(
        repositoryName="notejam-dev-app",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
    )
    return ecr


def push(ecr, tag):
    return ecr.put_image(
        repositoryName="notejam-dev-app",
        imageManifest=minimal_manifest(tag),
        imageManifestMediaType=OCI_MANIFEST,
        imageTag=tag,
    )["image"]["imageId"]["imageDigest"]


def test_image_digest_is_printed_or_exit_3_when_the_tag_is_absent(repository):
    out = io.StringIO()
    assert stage.main(["image-digest"], environ=BUILD_ENV, ecr=repository, out=out) == 3
    digest = push(repository, SHA)
    assert stage.main(["image-digest"], environ=BUILD_ENV, ecr=repository, out=out) == 0
    assert out.getvalue().strip() == digest


def test_the_scan_on_push_is_waited_for_then_its_findings_counted(repository):
    push(repository, SHA)
    out = io.StringIO()
    assert (
        stage.main(
            ["wait-scan", "--timeout", "5", "--poll", "0.1"], environ=BUILD_ENV, ecr=repository, out=out
        )
        == 0
    )
    # moto's findings: one HIGH. CRITICAL findings stop the image; HIGH ones only with --fail-on HIGH.
    assert stage.main(["check-findings"], environ=BUILD_ENV, ecr=repository, out=out) == 0
    assert "HIGH 1" in out.getvalue()
    assert (
        stage.main(
            ["check-findings", "--fail-on", "CRITICAL,HIGH"], environ=BUILD_ENV, ecr=repository, out=out
        )
        == 2
    )
    assert (
        stage.main(["check-findings", "--fail-on", "SEVERE"], environ=BUILD_ENV, ecr=repository, out=out) == 2
    )


def test_a_scan_that_never_starts_is_given_up_on_with_what_was_waited_for(aws):
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="notejam-dev-app")  # no scan on push
    push(ecr, SHA)
    ticks = iter(range(0, 1000, 2))
    with pytest.raises(stage.StageError, match=r"no scan of notejam-dev-app:.* started within 10s"):
        stage.wait_scan(
            ecr, "notejam-dev-app", SHA, timeout=10, poll=2, clock=lambda: next(ticks), sleep=lambda _: None
        )


class FakeFindings:
    """An ECR client whose scan found what a test says (moto's findings are fixed)."""

    def __init__(self, counts):
        self.counts = counts

    def describe_image_scan_findings(self, **_):
        return {"imageScanFindings": {"findingSeverityCounts": self.counts}}


def test_critical_findings_stop_the_image_and_say_how_many(capsys):
    fake = FakeFindings({"CRITICAL": 2, "HIGH": 5})
    assert stage.blocking_findings(fake.counts, ["CRITICAL"]) == {"CRITICAL": 2}
    assert stage.main(["check-findings"], environ=BUILD_ENV, ecr=fake, out=io.StringIO()) == 2
    assert "has 2 CRITICAL finding(s): the image is not promoted" in capsys.readouterr().err
    assert stage.main(["check-findings"], environ=BUILD_ENV, ecr=FakeFindings({}), out=io.StringIO()) == 0


def test_images_are_named_by_the_digest_of_their_manifest(repository):
    import hashlib

    first, second = push(repository, "a1"), push(repository, "b2")
    assert first != second
    assert first == "sha256:" + hashlib.sha256(minimal_manifest("a1").encode()).hexdigest()
