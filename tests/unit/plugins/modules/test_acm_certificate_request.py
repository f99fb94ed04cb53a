"""acm_certificate_request: request once, re-use, records, bounded wait, tags, check mode, delete,
bad input."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.acm_certificate_request import main

ARGS = {
    "name": "notejam-test-alb",
    "domain_name": "test.notejam.example.com",
    "tags": {"Project": "notejam", "Environment": "test"},
}


@pytest.fixture
def created(aws, run_module):
    result = run_module(main, ARGS)
    assert result["changed"] is True, result
    return result


def test_request_returns_dns_validation_records_and_name_tag(created):
    cert = created["certificate"]
    assert cert["certificate_arn"].startswith("arn:aws:acm:")
    assert cert["domain_name"] == "test.notejam.example.com"
    assert cert["tags"] == {"Project": "notejam", "Environment": "test", "Name": "notejam-test-alb"}
    assert [r["type"] for r in created["validation_records"]] == ["CNAME"]
    assert created["validation_records"][0]["domain_name"] == "test.notejam.example.com"


def test_second_run_reuses_the_certificate_without_a_write(created, run_module, api_calls):
    again = run_module(main, ARGS)
    assert again["changed"] is False, again["changes"]
    assert api_calls and api_calls.writes == []
    assert again["certificate"]["certificate_arn"] == created["certificate"]["certificate_arn"]
    assert again["validation_records"] == created["validation_records"]
    assert len(boto3.client("acm").list_certificates()["CertificateSummaryList"]) == 1


def test_other_name_or_domain_is_another_certificate(created, run_module):
    other = run_module(main, dict(ARGS, name="notejam-prod-alb"))
    assert other["changed"] is True
    assert other["certificate"]["certificate_arn"] != created["certificate"]["certificate_arn"]
    sans = run_module(main, dict(ARGS, subject_alternative_names=["www.test.notejam.example.com"]))
    assert sans["changed"] is True
    assert sorted(sans["certificate"]["subject_alternative_names"]) == [
        "test.notejam.example.com",
        "www.test.notejam.example.com",
    ]


def test_tags_change_in_place(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, tags={"Project": "notejam", "Environment": "test", "Owner": "web"}))
    assert result["changes"] == ["Tags.Owner"]
    assert api_calls.writes == ["AddTagsToCertificate"]
    assert result["certificate"]["certificate_arn"] == created["certificate"]["certificate_arn"]
    assert result["diff"]["after"]["tags"]["Owner"] == "web"


def test_wait_returns_once_issued(created, run_module, monkeypatch):
    from moto import settings

    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", 0)  # as the emulator runs: issued at once
    result = run_module(main, dict(ARGS, wait=True, wait_timeout=30))
    assert result["changed"] is False
    assert result["certificate"]["status"] == "ISSUED"


def test_wait_gives_up_after_the_timeout_naming_what_it_waited_for(created, run_module, monkeypatch):
    from ansible_collections.notejam.aws.plugins.modules import acm_certificate_request as mod

    real = mod.AcmCertificate._describe

    def pending(self, arn):
        return dict(real(self, arn), Status="PENDING_VALIDATION")

    monkeypatch.setattr(mod.AcmCertificate, "_describe", pending)
    result = run_module(main, dict(ARGS, wait=True, wait_timeout=1))
    assert result["failed"] is True
    assert "to be ISSUED" in result["msg"] and "Gave up after 1s" in result["msg"]


def test_failed_validation_fails_with_the_reason(created, run_module, monkeypatch):
    from ansible_collections.notejam.aws.plugins.modules import acm_certificate_request as mod

    real = mod.AcmCertificate._describe

    def failed(self, arn):
        return dict(real(self, arn), Status="FAILED", FailureReason="CAA_ERROR")

    monkeypatch.setattr(mod.AcmCertificate, "_describe", failed)
    result = run_module(main, dict(ARGS, wait=True, wait_timeout=30))
    assert result["failed"] is True and "CAA_ERROR" in result["msg"]


def test_check_mode_makes_no_write(aws, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is True
    assert result["diff"]["after"]["domain_name"] == "test.notejam.example.com"
    assert result["validation_records"] == []
    assert api_calls.writes == []
    assert boto3.client("acm").list_certificates()["CertificateSummaryList"] == []


def test_absent_deletes_it_and_then_does_nothing(created, run_module, api_calls):
    gone = run_module(main, dict(ARGS, state="absent"))
    assert gone["changed"] is True and gone["certificate"] == {}
    assert api_calls.writes == ["DeleteCertificate"]
    assert boto3.client("acm").list_certificates()["CertificateSummaryList"] == []
    api_calls.clear_calls()
    again = run_module(main, dict(ARGS, state="absent"))
    assert again["changed"] is False and api_calls.writes == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain_name", "not a domain"),
        ("domain_name", "nodot"),
        ("subject_alternative_names", ["bad_name.example.com"]),
    ],
)
def test_bad_names_fail_before_any_call(aws, run_module, api_calls, field, value):
    result = run_module(main, dict(ARGS, **{field: value}))
    assert result["failed"] is True and field in result["msg"]
    assert api_calls == []
