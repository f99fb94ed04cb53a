"""`make pipeline-local`: the pipeline's CodeBuild stages, run on this machine against the emulator.

    python -m tests.pipeline.local [--converge app|site] [--log-dir .run/pipeline-local] [--tests PATHS]

1. starts a private emulator (a free port; never 5000) and converges the local inventory into it;
   `app` (the default, the bounded choice for `make test`) converges the network, the database and
   the app tier with the stand-in load balancer of tests/integration/playbooks/app_tier.yml, which
   is what deploy.yml reads; `site` converges site.yml whole;
2. runs buildspecs/test.yml, build.yml and deploy.yml in the pipeline's order with
   tests/pipeline/buildspec.py, each with the variables the codepipeline role gives its action:
   NOTEJAM_IMAGE_TAG (this checkout's commit SHA) to all, NOTEJAM_ECR_REPOSITORY_URI and AWS_REGION
   to the build, NOTEJAM_ENV (local here; dev, test, prod in AWS) to the deploy. The build's
   exported NOTEJAM_IMAGE_DIGEST is passed on, as CodePipeline passes an action's variables;
3. checks the result: the service runs <repository>:<sha> and /notejam-local/app/image records it.

What is not real here, said as the run goes: there is no docker daemon, so build-and-push skips
docker and tests/pipeline/local_push.py puts a minimal image manifest into the emulator's ECR in its
place (the scan wait, the findings check, the digest and the deploy then run on it); the test stage
runs a bounded subset ($PIPELINE_LOCAL_TESTS; `make test` runs every suite itself) with ruff as its
lint (`make lint` runs ansible-lint in `make test`); no MariaDB (SQLite), as in the test project.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.emulator.ctl import REPO, Emulator, apply_client_env
from tests.pipeline import buildspec

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
ENVIRONMENT = "local"
REPOSITORY = "notejam-local-app"
SERVICE, CLUSTER = "notejam-local-app", "notejam-local-cluster"
CONVERGE = {"app": "tests/integration/playbooks/app_tier.yml", "site": "site.yml"}
# The test stage's bounded subset: the pipeline's own code and a slice of the app's tests.
DEFAULT_TESTS = "tests/pipeline tests/unit/test_pipeline_stage.py tests/app/test_web.py"


def commit_sha():
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    sha = proc.stdout.strip()
    if proc.returncode != 0 or len(sha) != 40:
        raise SystemExit(
            f"pipeline-local: cannot read this checkout's commit (git rev-parse HEAD): {proc.stderr.strip()}"
        )
    return sha


def say(message):
    print(f"pipeline-local: {message}", flush=True)


def run_stage(name, environ, log_dir):
    path = REPO / "buildspecs" / f"{name}.yml"
    log_path = log_dir / f"{name}.log"
    say(f"stage {name}: running {path.relative_to(REPO)} (log {log_path})")
    started = time.monotonic()
    with log_path.open("w") as out:
        result = buildspec.run(path, environ=environ, cwd=REPO, out=out, build_id=name)
    phases = ", ".join(f"{p.name} {p.status}" for p in result.phases)
    say(
        f"stage {name}: {'SUCCEEDED' if result.succeeded else 'FAILED'} "
        f"in {time.monotonic() - started:.0f}s ({phases})"
    )
    for line in log_path.read_text().splitlines():
        if line.startswith("docker:") or "stand-in image" in line:
            say(f"stage {name}: {line}")
    if not result.succeeded:
        failed = next(p for p in result.phases if p.status == "FAILED")
        tail = "\n".join(log_path.read_text().splitlines()[-40:])
        raise SystemExit(
            f"pipeline-local: stage {name} failed in {failed.name} at `{failed.failed_command}`:\n{tail}"
        )
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--converge", choices=sorted(CONVERGE), default="app")
    parser.add_argument("--log-dir", default=str(REPO / ".run" / "pipeline-local"))
    parser.add_argument(
        "--tests",
        default=os.environ.get("PIPELINE_LOCAL_TESTS") or DEFAULT_TESTS,
        help="the test stage's pytest paths (default: $PIPELINE_LOCAL_TESTS, else a bounded subset)",
    )
    args = parser.parse_args(argv)
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    sha = commit_sha()
    started = time.monotonic()

    server = Emulator.spawn(port=0, log_path=log_dir / "emulator.log")
    try:
        say(f"emulator at {server.url}; commit {sha}")
        environ = apply_client_env(dict(os.environ), server.url)
        environ.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        # The test project has no database server: its app tests run on SQLite, and CI's demand for
        # the MySQL run (NOTEJAM_REQUIRE_MYSQL, met by `make test-app`) does not apply to it.
        environ.pop("NOTEJAM_TEST_MYSQL_URL", None)
        environ.pop("NOTEJAM_REQUIRE_MYSQL", None)

        say(f"converging the local environment ({CONVERGE[args.converge]}; log {log_dir / 'converge.log'})")
        with (log_dir / "converge.log").open("w") as out:
            converge = subprocess.run(
                [
                    str(REPO / ".venv" / "bin" / "ansible-playbook"),
                    CONVERGE[args.converge],
                    "-i",
                    f"inventories/{ENVIRONMENT}",
                ],
                cwd=REPO,
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if converge.returncode != 0:
            raise SystemExit(f"pipeline-local: the converge failed; see {log_dir / 'converge.log'}")
        say(f"converged in {time.monotonic() - started:.0f}s")

        common = dict(environ, NOTEJAM_IMAGE_TAG=sha)
        run_stage(
            "test",
            dict(
                common,
                NOTEJAM_TEST_LINT="ruff",
                NOTEJAM_TEST_PATHS=args.tests,
            ),
            log_dir,
        )
        uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"
        build = run_stage(
            "build",
            dict(
                common,
                NOTEJAM_ECR_REPOSITORY_URI=uri,
                AWS_REGION=REGION,
                NOTEJAM_PIPELINE_LOCAL_PUSH=f"{sys.executable} -m tests.pipeline.local_push",
                NOTEJAM_SCAN_TIMEOUT="60",
                PYTHONPATH=str(REPO),
            ),
            log_dir,
        )
        digest = build.exported.get("NOTEJAM_IMAGE_DIGEST", "")
        if not digest.startswith("sha256:"):
            raise SystemExit(
                f"pipeline-local: the build stage exported no image digest (got {build.exported})"
            )
        say(f"stage build exported NOTEJAM_IMAGE_DIGEST={digest}")
        run_stage("deploy", dict(common, NOTEJAM_ENV=ENVIRONMENT, NOTEJAM_IMAGE_DIGEST=digest), log_dir)

        ecs = server.client("ecs", REGION)
        service = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
        image = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"][
            "containerDefinitions"
        ][0]["image"]
        recorded = server.client("ssm", REGION).get_parameter(Name="/notejam-local/app/image")["Parameter"][
            "Value"
        ]
        if image != f"{uri}:{sha}" or recorded != sha:
            raise SystemExit(
                f"pipeline-local: after the deploy stage the service runs {image}, "
                f"recorded {recorded}; expected {uri}:{sha}"
            )
        say(f"the service runs {image}; recorded in /notejam-local/app/image")
        say(f"passed in {time.monotonic() - started:.0f}s")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
