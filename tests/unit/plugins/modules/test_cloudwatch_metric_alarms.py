"""cloudwatch_metric_alarms: a batch of alarms (one metric and metric math) created with tags; a second
run and check mode make no write; one changed threshold rewrites that alarm only; alarms left out are
purged; bad input fails before any call; absent removes the prefix's alarms."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.cloudwatch_metric_alarms import main

TOPIC = "arn:aws:sns:us-east-1:123456789012:notejam-test-alarms"
TAGS = {"Project": "notejam", "Environment": "test", "ManagedBy": "ansible"}
LB = [{"name": "LoadBalancer", "value": "app/notejam-test-alb/0123456789abcdef"}]


def rate_alarm(threshold=5):
    def stat(metric):
        return {
            "namespace": "AWS/ApplicationELB",
            "metric_name": metric,
            "dimensions": LB,
        }

    return {
        "alarm_name": "notejam-test-alb-5xx-rate",
        "comparison_operator": "GreaterThanThreshold",
        "threshold": threshold,
        "evaluation_periods": 3,
        "datapoints_to_alarm": 2,
        "treat_missing_data": "notBreaching",
        "alarm_actions": [TOPIC],
        "ok_actions": [TOPIC],
        "metrics": [
            {"id": "rate", "expression": "IF(requests >= 50, 100 * errors / requests, 0)", "label": "5xx %"},
            {
                "id": "errors",
                "return_data": False,
                "metric_stat": {"metric": stat("HTTPCode_Target_5XX_Count"), "period": 60, "stat": "Sum"},
            },
            {
                "id": "requests",
                "return_data": False,
                "metric_stat": {"metric": stat("RequestCount"), "period": "60", "stat": "Sum"},
            },
        ],
    }


def latency_alarm(**extra):
    return dict(
        {
            "alarm_name": "notejam-test-target-p99-latency",
            "namespace": "AWS/ApplicationELB",
            "metric_name": "TargetResponseTime",
            "dimensions": LB,
            "extended_statistic": "p99",
            "period": 60,
            "evaluation_periods": "5",
            "threshold": "1.5",
            "comparison_operator": "GreaterThanThreshold",
            "alarm_actions": [TOPIC],
            "ok_actions": [TOPIC],
        },
        **extra,
    )


def args(*alarms, **extra):
    return dict(
        {"prefix": "notejam-test-", "alarms": list(alarms) or [rate_alarm(), latency_alarm()], "tags": TAGS},
        **extra,
    )


def alarms():
    found = boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix="notejam-test-")["MetricAlarms"]
    return {a["AlarmName"]: a for a in found}


def test_create_both_kinds_with_actions_and_tags(aws, run_module):
    result = run_module(main, args())
    assert result["changed"] is True, result
    assert result["created"] == ["notejam-test-alb-5xx-rate", "notejam-test-target-p99-latency"]
    found = alarms()
    assert found["notejam-test-target-p99-latency"]["ExtendedStatistic"] == "p99"
    assert found["notejam-test-target-p99-latency"]["Threshold"] == 1.5
    assert found["notejam-test-alb-5xx-rate"]["OKActions"] == [TOPIC]
    assert {m["Id"] for m in found["notejam-test-alb-5xx-rate"]["Metrics"]} == {"rate", "errors", "requests"}
    tags = boto3.client("cloudwatch").list_tags_for_resource(
        ResourceARN=found["notejam-test-alb-5xx-rate"]["AlarmArn"]
    )["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == TAGS


def test_second_run_and_check_mode_make_no_write(aws, run_module, api_calls):
    run_module(main, args())
    api_calls.clear_calls()
    again = run_module(main, args())
    assert again["changed"] is False, again["changes"]
    assert run_module(main, args(), check=True)["changed"] is False
    assert api_calls.writes == []


def test_check_mode_reports_and_writes_nothing(aws, run_module, api_calls):
    result = run_module(main, args(), check=True)
    assert result["changed"] is True and len(result["created"]) == 2
    assert api_calls.writes == [] and alarms() == {}


def test_a_changed_threshold_rewrites_that_alarm_only(aws, run_module, api_calls):
    run_module(main, args())
    api_calls.clear_calls()
    result = run_module(main, args(rate_alarm(threshold=10), latency_alarm()))
    assert result["updated"] == ["notejam-test-alb-5xx-rate"]
    assert result["changes"] == ["notejam-test-alb-5xx-rate.Threshold"]
    assert api_calls.writes == ["PutMetricAlarm"]
    assert alarms()["notejam-test-alb-5xx-rate"]["Threshold"] == 10.0


def test_alarms_left_out_are_purged_and_others_kept(aws, run_module):
    run_module(main, args())
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName="someone-elses",
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    result = run_module(main, args(latency_alarm()))
    assert result["deleted"] == ["notejam-test-alb-5xx-rate"]
    assert set(alarms()) == {"notejam-test-target-p99-latency"}
    assert boto3.client("cloudwatch").describe_alarms(AlarmNames=["someone-elses"])["MetricAlarms"]


def test_absent_removes_every_alarm_under_the_prefix(aws, run_module):
    run_module(main, args())
    result = run_module(main, {"prefix": "notejam-test-", "state": "absent"})
    assert result["changed"] is True and len(result["deleted"]) == 2
    assert alarms() == {}
    assert run_module(main, {"prefix": "notejam-test-", "state": "absent"})["changed"] is False


@pytest.mark.parametrize(
    "alarm, message",
    [
        (latency_alarm(comparison_operator="Above"), "comparison_operator='Above' is not accepted"),
        (latency_alarm(alarm_name="other-alarm"), "must start with prefix"),
        (latency_alarm(period=45), "period=45"),
        (latency_alarm(statistic="Average"), "one of statistic or extended_statistic"),
        (latency_alarm(datapoints_to_alarm=9), "datapoints_to_alarm=9"),
        (latency_alarm(metric_nme="x"), "metric_nme is not a known field"),
        (dict(rate_alarm(), metric_name="RequestCount"), "not both"),
        (
            dict(rate_alarm(), metrics=[dict(q, return_data=True) for q in rate_alarm()["metrics"]]),
            "exactly one of metrics[] must return data",
        ),
    ],
)
def test_bad_input_fails_before_any_call(aws, run_module, api_calls, alarm, message):
    result = run_module(main, args(alarm))
    assert result.get("failed"), result
    assert message in result["msg"]
    assert api_calls == []
