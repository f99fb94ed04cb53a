"""cloudwatch_dashboard: created from a body; the same body in another key order or as text is no
change and no write; a changed widget is written; check mode writes nothing; bad bodies fail first."""

import json

import boto3
from ansible_collections.notejam.aws.plugins.modules.cloudwatch_dashboard import main

BODY = {
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {
                "title": "ALB requests",
                "region": "us-east-1",
                "metrics": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/notejam-test-alb/1"]],
                "stat": "Sum",
                "period": 60,
            },
        }
    ]
}


def body(**properties):
    changed = json.loads(json.dumps(BODY))
    changed["widgets"][0]["properties"].update(properties)
    return changed


def test_create_then_same_body_in_another_form_makes_no_write(aws, run_module, api_calls):
    assert run_module(main, {"name": "notejam-test", "body": BODY})["changed"] is True
    stored = json.loads(
        boto3.client("cloudwatch").get_dashboard(DashboardName="notejam-test")["DashboardBody"]
    )
    assert stored == BODY
    api_calls.clear_calls()
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=4)
    assert run_module(main, {"name": "notejam-test", "body": reordered})["changed"] is False
    assert run_module(main, {"name": "notejam-test", "body": BODY}, check=True)["changed"] is False
    assert api_calls.writes == []


def test_a_changed_widget_is_written_and_check_mode_only_reports(aws, run_module, api_calls):
    run_module(main, {"name": "notejam-test", "body": BODY})
    api_calls.clear_calls()
    check = run_module(main, {"name": "notejam-test", "body": body(period=300)}, check=True)
    assert check["changed"] is True and api_calls.writes == []
    result = run_module(main, {"name": "notejam-test", "body": body(period=300)})
    assert result["changed"] is True and api_calls.writes == ["PutDashboard"]
    assert result["dashboard"]["body"]["widgets"][0]["properties"]["period"] == 300


def test_bad_body_fails_before_any_call(aws, run_module, api_calls):
    result = run_module(main, {"name": "notejam-test", "body": {"widget": []}})
    assert result.get("failed") and "widgets list" in result["msg"]
    assert api_calls == []


def test_absent_deletes(aws, run_module):
    run_module(main, {"name": "notejam-test", "body": BODY})
    assert run_module(main, {"name": "notejam-test", "state": "absent"})["changed"] is True
    assert run_module(main, {"name": "notejam-test", "state": "absent"})["changed"] is False
