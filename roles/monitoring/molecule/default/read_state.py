"""Print, as JSON, what the monitoring verify checks: read straight from the AWS APIs with boto3
(the endpoint and credentials come from the environment, as for the playbooks)."""

import json
import sys

import boto3

region, prefix = sys.argv[1], sys.argv[2]
cloudwatch = boto3.client("cloudwatch", region_name=region)
sns = boto3.client("sns", region_name=region)
events = boto3.client("events", region_name=region)
ecs = boto3.client("ecs", region_name=region)
logs = boto3.client("logs", region_name=region)
kms = boto3.client("kms", region_name=region)

alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{prefix}-alarm-")["MetricAlarms"]
topic_arn = next(
    t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{prefix}-alarms")
)
attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
key_id = attributes.get("KmsMasterKeyId") or ""
state = {
    "alarms": {
        a["AlarmName"].removeprefix(f"{prefix}-alarm-"): {
            "threshold": a["Threshold"],
            "comparison": a["ComparisonOperator"],
            "metric": a.get("MetricName"),
            "statistic": a.get("Statistic") or a.get("ExtendedStatistic"),
            "dimensions": {d["Name"]: d["Value"] for d in a.get("Dimensions") or []},
            "queries": {
                m["Id"]: m.get("Expression") or m["MetricStat"]["Metric"]["MetricName"]
                for m in a.get("Metrics") or []
            },
            "alarm_actions": a["AlarmActions"],
            "ok_actions": a["OKActions"],
            "tags": {
                t["Key"]: t["Value"]
                for t in cloudwatch.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"]
            },
        }
        for a in alarms
    },
    "topic": {
        "arn": topic_arn,
        "kms_key": key_id,
        "policy": json.loads(attributes.get("Policy") or "{}"),
        "subscriptions": [
            {"endpoint": s["Endpoint"], "arn": s["SubscriptionArn"]}
            for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
        ],
        "tags": {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]},
    },
    "key_policy": json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    if key_id
    else {},
    "dashboard": json.loads(cloudwatch.get_dashboard(DashboardName=prefix)["DashboardBody"]),
    "rule": {
        "pattern": json.loads(events.describe_rule(Name=f"{prefix}-backup-failures")["EventPattern"]),
        "targets": [
            t["Arn"] for t in events.list_targets_by_rule(Rule=f"{prefix}-backup-failures")["Targets"]
        ],
    },
    "service_alarms": ecs.describe_services(cluster=f"{prefix}-cluster", services=[f"{prefix}-app"])[
        "services"
    ][0]["deploymentConfiguration"].get("alarms"),
    "log_groups_without_retention": [
        g["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate()
        for g in page["logGroups"]
        if not g.get("retentionInDays")
    ],
}
print(json.dumps(state))
