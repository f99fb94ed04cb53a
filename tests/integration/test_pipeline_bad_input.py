"""Bad delivery-tier input fails before the first AWS call, naming the setting at fault: a source
repository that is missing or not owner/name, a branch name git would refuse, a prod pipeline
without its approval, an environment that would not run the delivery repository's images, a DR
template prefix that would not cover the delivery repository.
(A deployment of an image tag that is not in ECR: tests/integration/test_first_build.py.)"""

import json

import pytest


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("inventory", "extra_vars", "expected"),
    [
        ("prod", {"codepipeline_repository": ""}, "codepipeline_repository='' is not accepted"),
        (
            "prod",
            {"codepipeline_repository": "https://github.com/notejam/notejam.aws"},
            "codepipeline_repository='https://github.com/notejam/notejam.aws' is not accepted",
        ),
        (
            "prod",
            {"codepipeline_branch": "release..2"},
            "codepipeline_branch='release..2' is not a branch name",
        ),
        (
            "prod",
            {"codepipeline_branch": "main.lock"},
            "codepipeline_branch='main.lock' is not a branch name",
        ),
        ("prod", {"codepipeline_approval_before": []}, "codepipeline_approval_before=[] is not accepted"),
        (
            "prod",
            {"codepipeline_deploy_environments": [{"name": "staging", "region": "eu-west-1"}]},
            "codepipeline_deploy_environments=",
        ),
        (
            "dev",
            {"ecs_service_image_repository": "notejam-dev-app"},
            "ecs_service_image_repository='notejam-dev-app' differs from the delivery repository "
            "notejam-prod-app",
        ),
        ("prod", {"notejam_dr_region": "eu-west-1"}, "codepipeline_dr_region=eu-west-1 (notejam_dr_region)"),
        # ECR matches a template's prefix as '<prefix>/...': the repository's own name would cover nothing.
        (
            "prod",
            {"codepipeline_dr_template_prefix": "notejam-prod-app"},
            "codepipeline_dr_template_prefix='notejam-prod-app' is not accepted",
        ),
        (
            "prod",
            {"codepipeline_dr_template_prefix": "Notejam/"},
            "codepipeline_dr_template_prefix='Notejam/' is not accepted",
        ),
    ],
)
def test_bad_pipeline_input_fails_before_any_aws_call(
    inventory, extra_vars, expected, playbook, fresh_emulator
):
    fresh_emulator.reset_calls()
    run = playbook("site.yml", inventory, "--tags", "codepipeline", "-e", json.dumps(extra_vars))
    assert run.returncode != 0
    assert expected in run.output, run.tail()
    # Not even the environment's lock was taken: the checks come first.
    calls = fresh_emulator.calls()
    assert calls["total"] == 0, calls["calls"]
    assert calls["lock_calls"] == {}, calls["lock_calls"]
