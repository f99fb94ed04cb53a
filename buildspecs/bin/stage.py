#!/usr/bin/env python3
"""The logic of the pipeline's CodeBuild stages, kept out of the buildspecs so it can be tested.

    stage.py check-env test|build|deploy          the variables the stage needs, checked first
    stage.py image-digest                         the digest of $NOTEJAM_IMAGE_TAG, or exit 3 if absent
    stage.py wait-scan [--timeout S]              wait (bounded) for the scan on push of the image
    stage.py check-findings [--fail-on CRITICAL]  stop on findings of those severities

The image is $NOTEJAM_ECR_REPOSITORY_URI:$NOTEJAM_IMAGE_TAG (the commit SHA) in $AWS_REGION; the
contract with the codepipeline role (which sets these variables) is in docs/runbooks/pipeline.md.
Only boto3 (installed by `make install`) is needed.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

# A git commit SHA (short or full) as CodePipeline passes it; also any tag docker accepts, so a
# person can run a stage by hand with a release tag.
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# <account>.dkr.ecr.<region>.amazonaws.com/<repository> (amazonaws.com.cn in China)
REPOSITORY_URI = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<name>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)$"
)
ENVIRONMENTS = ("dev", "test", "prod")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
REPO = Path(__file__).resolve().parents[2]

# What each stage needs (names fixed with the codepipeline role).
NEEDS = {
    "test": (),
    "build": ("NOTEJAM_IMAGE_TAG", "NOTEJAM_ECR_REPOSITORY_URI", "AWS_REGION"),
    "deploy": ("NOTEJAM_IMAGE_TAG", "NOTEJAM_ENV"),
}


class StageError(Exception):
    """A stage cannot go on; the message says which setting or image, and what is accepted."""


def inventories(repo=REPO):
    """The environments a deploy may name: the shipped ones, plus any inventory in the checkout."""
    found = {p.parent.name for p in (repo / "inventories").glob("*/hosts.yml")}
    return sorted(found | set(ENVIRONMENTS)) if found else list(ENVIRONMENTS)


def check_env(stage, environ, repo=REPO):
    """Every variable ``stage`` needs, checked before anything runs; a list of problems."""
    problems = []
    for name in NEEDS[stage]:
        if not environ.get(name):
            problems.append(f"{name} is not set")
    tag = environ.get("NOTEJAM_IMAGE_TAG")
    if tag and (not IMAGE_TAG.match(tag) or tag.lower() == "latest"):
        problems.append(
            f"NOTEJAM_IMAGE_TAG={tag!r} is not accepted: the commit SHA (or a tag of letters, digits, _ . -, "
            "at most 128, not 'latest')"
        )
    uri = environ.get("NOTEJAM_ECR_REPOSITORY_URI")
    if stage == "build" and uri:
        match = REPOSITORY_URI.match(uri)
        if not match:
            problems.append(
                f"NOTEJAM_ECR_REPOSITORY_URI={uri!r} is not accepted: "
                "<account>.dkr.ecr.<region>.amazonaws.com/<repository>"
            )
        elif environ.get("AWS_REGION") and match.group("region") != environ["AWS_REGION"]:
            problems.append(
                f"NOTEJAM_ECR_REPOSITORY_URI is in {match.group('region')} "
                f"but AWS_REGION={environ['AWS_REGION']}"
            )
    region = environ.get("AWS_REGION")
    if stage == "build" and region and not REGION.match(region):
        problems.append(f"AWS_REGION={region!r} is not a region name (e.g. eu-west-1)")
    env = environ.get("NOTEJAM_ENV")
    if stage == "deploy" and env and env not in inventories(repo):
        problems.append(f"NOTEJAM_ENV={env!r} is not accepted: one of {', '.join(inventories(repo))}")
    return problems


def repository_name(uri):
    match = REPOSITORY_URI.match(uri)
    if not match:
        raise StageError(
            f"NOTEJAM_ECR_REPOSITORY_URI={uri!r} is not <account>.dkr.ecr.<region>.amazonaws.com/<repository>"
        )
    return match.group("name")


def image_digest(ecr, repository, tag):
    """The digest of ``repository:tag``, or None when there is no such image."""
    try:
        found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ecr.exceptions.ImageNotFoundException:
        return None
    return found[0]["imageDigest"] if found else None


def wait_scan(ecr, repository, tag, timeout, poll=5.0, clock=time.monotonic, sleep=time.sleep):
    """Wait, at most ``timeout`` seconds, for the scan on push of ``repository:tag`` to complete.

    Right after a push the scan may not be listed yet (ScanNotFoundException): that is waited out
    first, then botocore's own ``image_scan_complete`` waiter (the one `aws ecr wait
    image-scan-complete` runs) takes over with what is left of the time."""
    deadline = clock() + timeout
    image = {"imageTag": tag}
    while True:
        try:
            ecr.describe_image_scan_findings(repositoryName=repository, imageId=image, maxResults=1)
            break
        except ecr.exceptions.ScanNotFoundException:
            if clock() + poll > deadline:
                raise StageError(
                    f"no scan of {repository}:{tag} started within {timeout:.0f}s: is scan on push on for "
                    f"{repository} (the ecs_service role turns it on)?"
                ) from None
            sleep(poll)
    attempts = max(1, int((deadline - clock()) // poll))
    from botocore.exceptions import WaiterError

    try:
        ecr.get_waiter("image_scan_complete").wait(
            repositoryName=repository, imageId=image, WaiterConfig={"Delay": poll, "MaxAttempts": attempts}
        )
    except WaiterError as err:
        status = (err.last_response or {}).get("imageScanStatus", {})
        raise StageError(
            f"the scan of {repository}:{tag} did not complete within {timeout:.0f}s "
            f"(last status {status.get('status', 'unknown')}: {status.get('description', err)})"
        ) from None


def severity_counts(ecr, repository, tag):
    """The scan's findingSeverityCounts (the same counts on every page)."""
    found = ecr.describe_image_scan_findings(
        repositoryName=repository, imageId={"imageTag": tag}, maxResults=1
    )
    return (found.get("imageScanFindings") or {}).get("findingSeverityCounts") or {}


def blocking_findings(counts, fail_on):
    """The severities in ``fail_on`` that have findings, with their counts."""
    return {severity: counts[severity] for severity in fail_on if counts.get(severity, 0) > 0}


def _client(environ):
    import boto3

    return boto3.client("ecr", region_name=environ["AWS_REGION"])


def main(argv=None, environ=None, ecr=None, out=sys.stdout):
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check-env").add_argument("stage", choices=sorted(NEEDS))
    sub.add_parser("image-digest")
    wait = sub.add_parser("wait-scan")
    wait.add_argument("--timeout", type=float, default=900.0)
    wait.add_argument("--poll", type=float, default=5.0)
    findings = sub.add_parser("check-findings")
    findings.add_argument("--fail-on", default="CRITICAL", help="comma-separated severities")
    args = parser.parse_args(argv)

    try:
        if args.command == "check-env":
            problems = check_env(args.stage, environ)
            if problems:
                raise StageError(f"the {args.stage} stage cannot run: " + "; ".join(problems))
            print(f"{args.stage} stage settings: ok", file=out)
            return 0
        problems = check_env("build", environ)
        if problems:
            raise StageError("; ".join(problems))
        repository, tag = repository_name(environ["NOTEJAM_ECR_REPOSITORY_URI"]), environ["NOTEJAM_IMAGE_TAG"]
        ecr = ecr or _client(environ)
        if args.command == "image-digest":
            digest = image_digest(ecr, repository, tag)
            if digest is None:
                return 3
            print(digest, file=out)
        elif args.command == "wait-scan":
            wait_scan(ecr, repository, tag, args.timeout, args.poll)
            print(f"scan of {repository}:{tag} complete", file=out)
        elif args.command == "check-findings":
            fail_on = [s.strip().upper() for s in args.fail_on.split(",") if s.strip()]
            unknown = [s for s in fail_on if s not in SEVERITIES]
            if unknown or not fail_on:
                raise StageError(
                    f"--fail-on={args.fail_on!r}: accepted severities are {', '.join(SEVERITIES)}"
                )
            counts = severity_counts(ecr, repository, tag)
            summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
            print(f"scan findings of {repository}:{tag}: {summary}", file=out)
            blocking = blocking_findings(counts, fail_on)
            if blocking:
                raise StageError(
                    f"{repository}:{tag} has "
                    f"{', '.join(f'{v} {k}' for k, v in blocking.items())} finding(s): "
                    "the image is not promoted (see docs/runbooks/pipeline.md, 'A CRITICAL finding')"
                )
    except StageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
