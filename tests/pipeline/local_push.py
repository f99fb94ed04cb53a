"""The stand-in for `docker build && docker push` in `make pipeline-local` (no docker daemon here).

Puts a minimal OCI image manifest (tests/emulator/fixes/ecr.py) into the EMULATOR's repository
$NOTEJAM_ECR_REPOSITORY_URI under $NOTEJAM_IMAGE_TAG, as a push would leave it: the scan on push,
the findings check, the digest and the deploy stage then run on it for real. Nothing is built;
buildspecs/bin/build-and-push runs this only when NOTEJAM_PIPELINE_LOCAL_PUSH names it, which only
tests/pipeline/local.py does, and only with AWS_ENDPOINT_URL pointing at the emulator.
"""

import os
import sys

import boto3

from tests.emulator.fixes.ecr import OCI_MANIFEST, minimal_manifest


def main(environ=os.environ):
    endpoint = environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1:"):
        print(
            "error: the local push stand-in only writes to the emulator (AWS_ENDPOINT_URL=http://127.0.0.1:<port>)",
            file=sys.stderr,
        )
        return 2
    uri, tag = environ["NOTEJAM_ECR_REPOSITORY_URI"], environ["NOTEJAM_IMAGE_TAG"]
    repository = uri.split("/", 1)[1]
    ecr = boto3.client("ecr", region_name=environ["AWS_REGION"])
    manifest = minimal_manifest(f"{repository}:{tag}")
    try:
        image = ecr.put_image(
            repositoryName=repository,
            imageManifest=manifest,
            imageManifestMediaType=OCI_MANIFEST,
            imageTag=tag,
        )["image"]
    except ecr.exceptions.ImageAlreadyExistsException:
        print(f"{uri}:{tag} is already in the emulator's repository (same manifest): not pushed again")
        return 0
    print(
        f"stand-in image {uri}:{tag} put into the emulator's repository ({image['imageId']['imageDigest']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
