"""CodeBuild: the operation moto 5.2.5 lacks, and where its projects differ from AWS.

Stand-in (shaped by botocore's ``codebuild`` model, AWS CodeBuild API reference):

- UpdateProject (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_UpdateProject.html):
  moto lacks it. Every field given replaces the project's value (``tags`` replace the tag list);
  fields not given are kept. An unknown project answers ResourceNotFoundException; the source,
  artifacts and environment given are checked as CreateProject checks them (InvalidInputException).

Patches (``apply``):

- CreateProject with a source or artifacts of type CODEPIPELINE: AWS takes no location ("If type
  is CODEPIPELINE ... location should not be specified", ProjectSource and ProjectArtifacts in the
  API reference); moto demanded one.
- CreateProject records ``encryptionKey`` as given (moto always reported ``alias/aws/s3``, the
  default AWS uses only when none is given) and ``timeoutInMinutes``/``queuedTimeoutInMinutes``
  default to 60 and 480 as in AWS (moto reported 0).
"""

from moto.codebuild import responses as codebuild_responses
from moto.codebuild.exceptions import InvalidInputException
from moto.codebuild.models import codebuild_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import unix_time

from tests.emulator.standins import StandinError

_PIPELINE_TYPES = ("CODEPIPELINE", "NO_SOURCE")


def _validate_source(source):
    if source.get("type") in _PIPELINE_TYPES:
        return
    _validate_source.__wrapped__(source)


def _validate_artifacts(artifacts):
    if artifacts.get("type") == "CODEPIPELINE":
        return
    _validate_artifacts.__wrapped__(artifacts)


def _create_project(self):
    result = _create_project.__wrapped__(self)
    project = self.codebuild_backend.codebuild_projects[self._get_param("name")]
    metadata = project.project_metadata
    if self._get_param("encryptionKey"):
        metadata["encryptionKey"] = self._get_param("encryptionKey")
    if not self._get_param("timeoutInMinutes"):
        metadata["timeoutInMinutes"] = 60
    if not self._get_param("queuedTimeoutInMinutes"):
        metadata["queuedTimeoutInMinutes"] = 480
    return result


def update_project(call):
    params = call.params()
    name = params.get("name")
    backend = codebuild_backends[DEFAULT_ACCOUNT_ID][call.region]
    project = backend.codebuild_projects.get(name)
    if project is None:
        raise StandinError(
            "ResourceNotFoundException",
            f"Project cannot be found: arn:aws:codebuild:{call.region}:{DEFAULT_ACCOUNT_ID}:project/{name}",
        )
    try:
        if "source" in params:
            codebuild_responses._validate_required_params_source(params["source"])
        if "artifacts" in params:
            codebuild_responses._validate_required_params_artifacts(params["artifacts"])
        if "environment" in params:
            codebuild_responses._validate_required_params_environment(params["environment"])
        if "serviceRole" in params:
            codebuild_responses._validate_required_params_service_role(
                DEFAULT_ACCOUNT_ID, call.region, params["serviceRole"]
            )
    except InvalidInputException as e:
        raise StandinError("InvalidInputException", e.message) from None
    metadata = project.project_metadata
    for key, value in params.items():
        if key == "name":
            continue
        metadata[key] = value
    if "serviceRole" in params:
        project.service_role = params["serviceRole"]
    if "tags" in params:
        project.tags = params["tags"]
    metadata["lastModifiedDate"] = unix_time()
    return 200, {"project": metadata}


STANDINS = {("codebuild", "UpdateProject"): update_project}


def apply():
    current = codebuild_responses._validate_required_params_source
    if getattr(current, "_notejam_patched", False):
        return
    _validate_source.__wrapped__ = current
    _validate_source._notejam_patched = True
    codebuild_responses._validate_required_params_source = _validate_source
    _validate_artifacts.__wrapped__ = codebuild_responses._validate_required_params_artifacts
    codebuild_responses._validate_required_params_artifacts = _validate_artifacts
    _create_project.__wrapped__ = codebuild_responses.CodeBuildResponse.create_project
    codebuild_responses.CodeBuildResponse.create_project = _create_project
