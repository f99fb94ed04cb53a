"""The buildspec runner: phase order, one shell session, failures, finally, exported variables."""

import textwrap

import pytest

from tests.pipeline import buildspec


def write(tmp_path, text, name="spec.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run(tmp_path, text, **environ):
    log = tmp_path / "build.log"
    with log.open("w") as out:
        result = buildspec.run(
            write(tmp_path, text), environ={"PATH": "/usr/bin:/bin", **environ}, cwd=tmp_path, out=out
        )
    return result, log.read_text()


def test_phases_run_in_order_in_one_session_and_export_variables(tmp_path):
    result, log = run(
        tmp_path,
        """
        version: 0.2
        env:
          variables: {GREETING: hello, FROM_SPEC: spec}
          exported-variables: [DIGEST, NEVER_SET]
        phases:
          post_build:
            commands: ['echo "post $STEP $PWD_NAME" >> order.txt', 'export DIGEST="sha256:$STEP"']
          build:
            commands: ['echo "build $STEP" >> order.txt', 'export STEP=2']
          install:
            commands:
              - echo "install $GREETING $FROM_SPEC" > order.txt
              - export STEP=1
              - mkdir -p sub && cd sub
          pre_build:
            commands: ['export PWD_NAME=$(basename "$PWD")', 'cd .. && echo "pre $STEP" >> order.txt']
        """,
        FROM_SPEC="project",
    )
    assert result.succeeded, log
    assert [p.name for p in result.phases] == ["install", "pre_build", "build", "post_build"]
    assert (tmp_path / "order.txt").read_text().splitlines() == [
        "install hello project",  # the project's variable wins over the buildspec's
        "pre 1",
        "build 1",
        "post 2 sub",
    ]
    assert result.exported == {"DIGEST": "sha256:2"}


def test_a_failing_command_fails_its_phase_runs_finally_and_skips_the_rest(tmp_path):
    result, log = run(
        tmp_path,
        """
        version: 0.2
        phases:
          install:
            commands: ['true']
          pre_build:
            commands: ['echo one > seen.txt', 'false', 'echo never >> seen.txt']
            finally: ['echo cleanup >> seen.txt']
          build:
            commands: ['echo build >> seen.txt']
        """,
    )
    assert not result.succeeded
    assert [(p.name, p.status) for p in result.phases] == [
        ("install", "SUCCEEDED"),
        ("pre_build", "FAILED"),
        ("build", "SKIPPED"),
    ]
    assert result.phase("pre_build").failed_command == "false"
    assert (tmp_path / "seen.txt").read_text().split() == ["one", "cleanup"]
    assert "command failed with exit status 1: false" in log


def test_a_failed_build_phase_still_runs_post_build_unless_it_aborts(tmp_path):
    spec = """
        version: 0.2
        phases:
          build:
            {on_failure}
            commands: ['exit 3']
          post_build:
            commands: ['echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING" > post.txt']
        """
    result, _ = run(tmp_path, spec.format(on_failure=""))
    assert not result.succeeded
    assert (tmp_path / "post.txt").read_text().strip() == "succeeding=0"

    (tmp_path / "post.txt").unlink()
    aborted, _ = run(tmp_path, spec.format(on_failure="on-failure: ABORT"))
    assert not aborted.succeeded
    assert aborted.phase("post_build").status == "SKIPPED"
    assert not (tmp_path / "post.txt").exists()


def test_on_failure_continue_goes_on_and_a_failing_finally_fails_the_phase(tmp_path):
    result, _ = run(
        tmp_path,
        """
        version: 0.2
        phases:
          install:
            on-failure: CONTINUE
            commands: ['false']
          build:
            commands: ['true']
            finally: ['exit 4']
        """,
    )
    assert [(p.name, p.status) for p in result.phases] == [("install", "FAILED"), ("build", "FAILED")]
    assert result.phase("build").failed_command == "exit 4"
    assert not result.succeeded


def test_reports_are_listed(tmp_path):
    result, log = run(
        tmp_path,
        """
        version: 0.2
        phases:
          build:
            commands: ['mkdir -p reports && echo "<testsuite/>" > reports/junit.xml']
        reports:
          tests:
            files: [reports/junit.xml]
            file-format: JUNITXML
        """,
    )
    assert result.reports == {"tests": [str(tmp_path / "reports" / "junit.xml")]}
    assert "report group tests:" in log


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 0.1\nphases: {build: {commands: ['true']}}", "version=0.1"),
        ("version: 0.2\nphases: {compile: {commands: ['true']}}", "unknown phases ['compile']"),
        ("version: 0.2\nphases: {build: {on-failure: RETRY, commands: ['true']}}", "on-failure='RETRY'"),
        (
            "version: 0.2\nenv: {secrets-manager: {A: b}}\nphases: {build: {commands: ['true']}}",
            "secrets-manager",
        ),
        ("version: 0.2\nphases: {build: {commands: 'true'}}", "must be a list of commands"),
        ("version: 0.2\nenv: {shell: zsh}\nphases: {build: {commands: ['true']}}", "env.shell='zsh'"),
    ],
    ids=["version", "unknown-phase", "on-failure", "secrets", "commands-not-list", "shell"],
)
def test_bad_buildspecs_are_refused_before_anything_runs(tmp_path, text, expected):
    with pytest.raises(buildspec.BuildspecError, match=expected.replace("[", r"\[").replace("(", r"\(")):
        buildspec.parse(write(tmp_path, text))


@pytest.mark.parametrize("name", ["test.yml", "build.yml", "deploy.yml"])
def test_the_repository_buildspecs_parse(name):
    spec = buildspec.parse(buildspec.Path(__file__).resolve().parents[2] / "buildspecs" / name)
    assert spec.phases and all(p.on_failure == "ABORT" for p in spec.phases)
