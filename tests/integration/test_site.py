"""Each shipped inventory converges into a fresh emulator, re-converges with no change and no
write call, reports no change under --check, and is destroyed without leaving anything behind."""

import pytest
import yaml

from tests.emulator.ctl import REPO
from tests.integration.conftest import create_delivery_repository, create_shared_zone
from tests.integration.security_audit import (
    group_vars,
    log_groups_without_kms,
    service_trust_problems,
    vault_lock_problems,
)

INVENTORIES = ["local", "dev", "test", "prod"]


def inventory_vars(env):
    return yaml.safe_load((REPO / "inventories" / env / "group_vars" / "all" / "main.yml").read_text())


def monitoring_problems(aws_client, env, region):
    """What the monitoring tier lacks after a converge: its alarms notify the topic, the topic is
    encrypted, the service's deployments roll back on the 5xx and latency alarms, every log group of
    the region has a retention."""
    prefix = f"notejam-{env}-"
    problems = []
    account = aws_client("sts", region).get_caller_identity()["Account"]
    topic = f"arn:aws:sns:{region}:{account}:{prefix}alarms"
    alarms = aws_client("cloudwatch", region).describe_alarms(AlarmNamePrefix=f"{prefix}alarm-")[
        "MetricAlarms"
    ]
    names = {a["AlarmName"].removeprefix(f"{prefix}alarm-") for a in alarms}
    wanted = {
        "alb-5xx-rate",
        "target-p99-latency",
        "unhealthy-targets",
        "ecs-running-below-desired",
        "aurora-cpu",
    }
    if group_vars(env, "aurora").get("aurora_reader_count", 0):
        wanted.add("aurora-replica-lag")
    if env == "prod":
        wanted.add("waf-blocked-spike")
    problems += [f"alarm {name} missing" for name in sorted(wanted - names)]
    problems += [
        f"alarm {a['AlarmName']} does not notify {topic}" for a in alarms if a["AlarmActions"] != [topic]
    ]
    attributes = aws_client("sns", region).get_topic_attributes(TopicArn=topic)["Attributes"]
    if not attributes.get("KmsMasterKeyId", "").startswith(f"arn:aws:kms:{region}:"):
        problems.append(f"topic {topic} not encrypted with the environment's key")
    ecs = aws_client("ecs", region)
    service = ecs.describe_services(cluster=f"{prefix}cluster", services=[f"{prefix}app"])["services"][0]
    rollback = service["deploymentConfiguration"].get("alarms") or {}
    if sorted(rollback.get("alarmNames", [])) != [
        f"{prefix}alarm-alb-5xx-rate",
        f"{prefix}alarm-target-p99-latency",
    ]:
        problems.append(f"service deployment alarms: {rollback}")
    elif not (rollback["enable"] and rollback["rollback"]):
        problems.append(f"service deployment alarms not enabled with rollback: {rollback}")
    logs = aws_client("logs", region)
    problems += [
        f"log group {g['logGroupName']} has no retention"
        for page in logs.get_paginator("describe_log_groups").paginate()
        for g in page["logGroups"]
        if not g.get("retentionInDays")
    ]
    return problems


def leftovers(aws_client, env, region, fqdn):
    """Everything still tagged or named for ``env`` that destroy should have removed."""
    prefix = f"notejam-{env}-"
    ec2 = aws_client("ec2", region)
    by_env = [{"Name": "tag:Environment", "Values": [env]}]
    found = {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=by_env)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=by_env)["Subnets"]],
        "security_groups": [
            g["GroupId"] for g in ec2.describe_security_groups(Filters=by_env)["SecurityGroups"]
        ],
        "route_tables": [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=by_env)["RouteTables"]],
        "internet_gateways": [
            i["InternetGatewayId"] for i in ec2.describe_internet_gateways(Filters=by_env)["InternetGateways"]
        ],
        "nat_gateways": [
            n["NatGatewayId"]
            for n in ec2.describe_nat_gateways(Filters=by_env)["NatGateways"]
            if n["State"] not in ("deleted", "deleting")
        ],
        "addresses": [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]],
        "flow_logs": [f["FlowLogId"] for f in ec2.describe_flow_logs(Filters=by_env)["FlowLogs"]],
        "log_groups": [
            g["logGroupName"]
            for g in aws_client("logs", region).describe_log_groups(logGroupNamePrefix=f"/notejam/{env}/")[
                "logGroups"
            ]
        ],
        "backup_vaults": [
            v["BackupVaultName"]
            for where in (region, group_vars(env, "aurora")["notejam_dr_region"])
            for v in aws_client("backup", where).list_backup_vaults()["BackupVaultList"]
            if v["BackupVaultName"].startswith(prefix)
        ],
        "iam_roles": [
            r["RoleName"]
            for r in aws_client("iam", region).list_roles()["Roles"]
            if r["RoleName"].startswith(f"notejam-{env}-")
        ],
        "clusters": [
            c["DBClusterIdentifier"] for c in aws_client("rds", region).describe_db_clusters()["DBClusters"]
        ],
        "load_balancers": [
            lb["LoadBalancerName"]
            for lb in aws_client("elbv2", region).describe_load_balancers()["LoadBalancers"]
            if lb["LoadBalancerName"].startswith(prefix)
        ],
        "target_groups": [
            tg["TargetGroupName"]
            for tg in aws_client("elbv2", region).describe_target_groups()["TargetGroups"]
            if tg["TargetGroupName"].startswith(prefix)
        ],
        "certificates": [
            c["DomainName"]
            for c in aws_client("acm", region).list_certificates()["CertificateSummaryList"]
            if c["DomainName"] == fqdn
        ],
        "web_acls": [
            a["Name"]
            for a in aws_client("wafv2", region).list_web_acls(Scope="REGIONAL")["WebACLs"]
            if a["Name"].startswith(prefix)
        ],
        "buckets": [
            b["Name"]
            for b in aws_client("s3", region).list_buckets()["Buckets"]
            if b["Name"].startswith(prefix)
        ],
        # The lock table stays (shared by the account's environments); the run's lock does not.
        "locks": [
            i["lock_id"]["S"]
            for i in (
                aws_client("dynamodb", region).scan(TableName="notejam-locks")["Items"]
                if "notejam-locks" in aws_client("dynamodb", region).list_tables()["TableNames"]
                else []
            )
            if i["lock_id"]["S"] == f"notejam-{env}"
        ],
        "ecs_clusters": [
            c["clusterName"]
            for c in aws_client("ecs", region).describe_clusters(
                clusters=aws_client("ecs", region).list_clusters()["clusterArns"]
            )["clusters"]
            if c["status"] == "ACTIVE" and c["clusterName"].startswith(prefix)
        ],
        "task_definitions": aws_client("ecs", region).list_task_definitions(
            familyPrefix=prefix, status="ACTIVE"
        )["taskDefinitionArns"],
        "repositories": [
            r["repositoryName"]
            for r in aws_client("ecr", region).describe_repositories()["repositories"]
            if r["repositoryName"].startswith(prefix)
        ],
        "app_log_groups": [
            g["logGroupName"]
            for g in aws_client("logs", region).describe_log_groups(logGroupNamePrefix=f"/ecs/{prefix}")[
                "logGroups"
            ]
        ],
        "secrets": [
            sec["Name"]
            for sec in aws_client("secretsmanager", region).list_secrets()["SecretList"]
            if sec["Name"].startswith(prefix)
        ],
        "scalable_targets": [
            t["ResourceId"]
            for t in aws_client("application-autoscaling", region).describe_scalable_targets(
                ServiceNamespace="ecs"
            )["ScalableTargets"]
            if prefix in t["ResourceId"]
        ],
        "alarms": [
            a["AlarmName"]
            for a in aws_client("cloudwatch", region).describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
        ],
        "dashboards": [
            d["DashboardName"]
            for d in aws_client("cloudwatch", region).list_dashboards(DashboardNamePrefix=f"notejam-{env}")[
                "DashboardEntries"
            ]
        ],
        "topics": [
            t["TopicArn"]
            for t in aws_client("sns", region).list_topics()["Topics"]
            if t["TopicArn"].split(":")[-1].startswith(prefix)
        ],
        "event_rules": [
            r["Name"] for r in aws_client("events", region).list_rules(NamePrefix=prefix)["Rules"]
        ],
        # The delivery tier (roles/codepipeline), in the inventories that own a pipeline.
        "pipelines": [
            p["name"]
            for p in aws_client("codepipeline", region).list_pipelines()["pipelines"]
            if p["name"].startswith(prefix)
        ],
        "codebuild_projects": [
            name
            for name in aws_client("codebuild", region).list_projects()["projects"]
            if name.startswith(prefix)
        ],
        "build_log_groups": [
            g["logGroupName"]
            for g in aws_client("logs", region).describe_log_groups(
                logGroupNamePrefix=f"/codebuild/{prefix}"
            )["logGroups"]
        ],
        "connections": [
            c["ConnectionName"]
            for c in aws_client("codestar-connections", region).list_connections()["Connections"]
            if c["ConnectionName"].startswith(prefix)
        ],
        "replication_rules": [
            f["filter"]
            for rule in (
                aws_client("ecr", region).describe_registry().get("replicationConfiguration") or {}
            ).get("rules", [])
            for f in rule["repositoryFilters"]
            if f["filter"].startswith(prefix)
        ],
        # ECR's settings for the delivery repository's copy in the DR region (roles/codepipeline).
        "repository_creation_templates": [
            t["prefix"]
            for t in aws_client("ecr", group_vars(env, "aurora")["notejam_dr_region"])
            .describe_repository_creation_templates()
            .get("repositoryCreationTemplates", [])
            if {"Key": "Environment", "Value": env} in t.get("resourceTags", [])
        ],
        "dns_records": [
            r["Name"]
            for zone in aws_client("route53", region).list_hosted_zones()["HostedZones"]
            for r in aws_client("route53", region).list_resource_record_sets(HostedZoneId=zone["Id"])[
                "ResourceRecordSets"
            ]
            if r["Type"] not in ("NS", "SOA") and r["Name"].rstrip(".").endswith(fqdn)
        ],
    }
    return {kind: ids for kind, ids in found.items() if ids}


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.parametrize("env", INVENTORIES)
def test_inventory_converges_then_reruns_with_no_change_and_destroys(
    env, playbook, fresh_emulator, aws_client
):
    settings = inventory_vars(env)
    if env != "local":
        create_shared_zone(aws_client, settings["notejam_dns_zone"])
    # dev and test run the images of the delivery repository that prod's converge makes.
    delivery = create_delivery_repository(aws_client, env)

    first = playbook("site.yml", env)
    assert first.returncode == 0, first.tail()
    assert first.changed > 0

    # The delivery tier: the owners of a pipeline (local, prod) have it, in the order the issue fixes.
    region = settings["notejam_region"]
    pipelines = aws_client("codepipeline", region).list_pipelines()["pipelines"]
    if env in ("local", "prod"):
        stages = aws_client("codepipeline", region).get_pipeline(name=f"notejam-{env}-delivery")["pipeline"][
            "stages"
        ]
        wanted = ["Source", "Test", "Build", "Deploy-local"]
        if env == "prod":
            wanted = ["Source", "Test", "Build", "Deploy-dev", "Deploy-test", "Approve-prod", "Deploy-prod"]
        assert [s["name"] for s in stages] == wanted
        # Failed runs and waiting approvals go to the environment's alarm topic (the monitoring tier's).
        events = aws_client("events", region)
        account = aws_client("sts", region).get_caller_identity()["Account"]
        topic = f"arn:aws:sns:{region}:{account}:notejam-{env}-alarms"
        for rule in (f"notejam-{env}-pipeline-failed", f"notejam-{env}-pipeline-approval"):
            targets = events.list_targets_by_rule(Rule=rule)["Targets"]
            assert [t["Arn"] for t in targets] == [topic], (rule, targets)
        # The DR region's copy of the delivery repository will be made with immutable tags and a DR key.
        dr_region = group_vars(env, "aurora")["notejam_dr_region"]
        [template] = aws_client("ecr", dr_region).describe_repository_creation_templates(prefixes=["ROOT"])[
            "repositoryCreationTemplates"
        ]
        assert template["appliedFor"] == ["REPLICATION"] and template["imageTagMutability"] == "IMMUTABLE"
        assert template["encryptionConfiguration"]["kmsKey"].startswith(f"arn:aws:kms:{dr_region}:"), template
    else:
        assert pipelines == []
        repositories = [
            r["repositoryName"] for r in aws_client("ecr", region).describe_repositories()["repositories"]
        ]
        assert f"notejam-{env}-app" not in repositories, "dev and test pull from the delivery repository"

    # The edge's protections, audited over all the environment has (tests/integration/security_audit.py).
    assert log_groups_without_kms(aws_client, env, region) == []
    problems, audited = service_trust_problems(aws_client, env, region)
    assert problems == [], problems
    assert any("vpc-flow-logs.amazonaws.com" in role for role in audited), audited
    assert vault_lock_problems(aws_client, env, region) == []
    assert monitoring_problems(aws_client, env, region) == []

    fresh_emulator.reset_calls()
    second = playbook("site.yml", env)
    assert second.returncode == 0, second.tail()
    assert second.changed == 0, "\n".join(second.changed_tasks())
    calls = fresh_emulator.calls()
    assert calls["writes"] == 0, calls["write_calls"]

    fresh_emulator.reset_calls()
    check = playbook("site.yml", env, "--check")
    assert check.returncode == 0, check.tail()
    assert check.changed == 0, "\n".join(check.changed_tasks())
    assert fresh_emulator.calls()["writes"] == 0

    # One tier alone: without the alb role in the play, the route53 role finds the load balancer
    # and its certificate by name, and puts back an alias record that went missing.
    route53 = aws_client("route53", settings["notejam_region"])
    zone_id = route53.list_hosted_zones_by_name(DNSName=settings["notejam_dns_zone"])["HostedZones"][0]["Id"]
    name = settings["notejam_fqdn"].rstrip(".") + "."
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    alias = next(r for r in records if r["Name"] == name and r["Type"] == "A")
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": alias}]},
    )
    alone = playbook("site.yml", env, "--tags", "route53")
    assert alone.returncode == 0, alone.tail()
    assert alone.changed == 1, "\n".join(alone.changed_tasks())
    changed = alone.changed_tasks()
    assert all("Alias records to the load balancer" in task for task in changed), changed
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    aliases = [r["AliasTarget"] for r in records if r["Name"] == name and r["Type"] == "A"]
    assert aliases == [alias["AliasTarget"]]

    destroy = playbook("playbooks/destroy.yml", env, "-e", "notejam_destroy_protected=true")
    assert destroy.returncode == 0, destroy.tail()
    assert leftovers(aws_client, env, settings["notejam_region"], settings["notejam_fqdn"]) == {}
    if env != "local":  # the shared zone is never the environment's to delete
        zones = aws_client("route53", settings["notejam_region"]).list_hosted_zones()["HostedZones"]
        assert [z["Name"] for z in zones] == [settings["notejam_dns_zone"] + "."]
    if delivery:  # nor is the delivery repository, which prod owns
        repositories = aws_client("ecr", region).describe_repositories()["repositories"]
        assert [r["repositoryName"] for r in repositories] == [delivery]
