"""The emulator fixes this suite relies on: moto answers as AWS does (see tests/emulator/fixes)."""

import boto3
import pytest

from tests.emulator.fixes.ecs import TASK_EXIT_CODE_ENV


@pytest.fixture
def network(aws):
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="t", Description="t", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="c")
    for memory in ("512", "1024"):
        ecs.register_task_definition(
            family="f",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory=memory,
            containerDefinitions=[{"name": "app", "image": "i", "portMappings": [{"containerPort": 80}]}],
        )
    return {"subnet": subnet, "sg": sg, "ecs": ecs}


def create_service(ecs, network, **extra):
    return ecs.create_service(
        cluster="c",
        serviceName="s",
        taskDefinition="f:1",
        desiredCount=2,
        networkConfiguration={"awsvpcConfiguration": {"subnets": [network["subnet"]]}},
        **extra,
    )["service"]


def test_register_fills_port_mapping_defaults(network):
    td = network["ecs"].describe_task_definition(taskDefinition="f:1")["taskDefinition"]
    assert td["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 80, "hostPort": 80, "protocol": "tcp"}
    ]


def test_register_fills_health_check_timings(network):
    network["ecs"].register_task_definition(
        family="hc",
        containerDefinitions=[
            {"name": "app", "image": "i", "memory": 64, "healthCheck": {"command": ["CMD", "true"]}},
            {
                "name": "side",
                "image": "i",
                "memory": 64,
                "healthCheck": {"command": ["CMD", "true"], "retries": 5},
            },
        ],
    )
    td = network["ecs"].describe_task_definition(taskDefinition="hc")["taskDefinition"]
    checks = [c["healthCheck"] for c in td["containerDefinitions"]]
    assert checks == [
        {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3},
        {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 5},
    ]


def test_create_service_keeps_deployment_settings_and_accepts_no_security_groups(network):
    service = create_service(
        network["ecs"],
        network,
        launchType="FARGATE",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        healthCheckGracePeriodSeconds=30,
    )
    assert service["deploymentConfiguration"] == {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    assert service["healthCheckGracePeriodSeconds"] == 30
    assert service["platformVersion"] == "LATEST"


def test_create_service_with_capacity_providers_reports_no_launch_type(network):
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    service = create_service(network["ecs"], network, capacityProviderStrategy=strategy)
    assert service["capacityProviderStrategy"] == strategy
    assert "launchType" not in service


def test_update_service_deploys_the_new_task_definition_by_arn(network):
    create_service(network["ecs"], network, launchType="FARGATE")
    service = network["ecs"].update_service(cluster="c", service="s", taskDefinition="f:2")["service"]
    assert service["taskDefinition"].endswith(":task-definition/f:2")
    assert [(d["status"], d["taskDefinition"][-3:], d["rolloutState"]) for d in service["deployments"]] == [
        ("PRIMARY", "f:2", "COMPLETED")
    ]


def test_circuit_breaker_rolls_back_when_tasks_fail(network, monkeypatch):
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    create_service(network["ecs"], network, launchType="FARGATE", deploymentConfiguration=breaker)
    monkeypatch.setenv("MOTO_ECS_SERVICE_FAILED_TASKS", "1")
    service = network["ecs"].update_service(cluster="c", service="s", taskDefinition="f:2")["service"]
    assert service["taskDefinition"].endswith("f:1")
    states = {d["taskDefinition"][-3:]: (d["status"], d["rolloutState"]) for d in service["deployments"]}
    assert states == {"f:1": ("PRIMARY", "COMPLETED"), "f:2": ("ACTIVE", "FAILED")}
    assert "deployment failed" in service["events"][1]["message"]


def test_fargate_task_with_task_level_memory_runs_and_stops_with_exit_code(network, monkeypatch):
    monkeypatch.setenv(TASK_EXIT_CODE_ENV, "7")
    task = network["ecs"].run_task(
        cluster="c",
        taskDefinition="f:1",
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [network["subnet"]], "securityGroups": [network["sg"]]}
        },
    )["tasks"][0]
    for _ in range(10):
        described = network["ecs"].describe_tasks(cluster="c", tasks=[task["taskArn"]])["tasks"][0]
        if described["lastStatus"] == "STOPPED":
            break
    assert described["lastStatus"] == "STOPPED"
    assert described["stopCode"] == "EssentialContainerExited"
    assert [(c["lastStatus"], c["exitCode"]) for c in described["containers"]] == [("STOPPED", 7)]


def test_scalable_target_tags_and_deregistration_cascade(network):
    create_service(network["ecs"], network, launchType="FARGATE")
    aas = boto3.client("application-autoscaling")
    key = {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/c/s",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    aas.register_scalable_target(MinCapacity=1, MaxCapacity=4, Tags={"a": "1"}, **key)
    arn = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]["ScalableTargetARN"]
    aas.tag_resource(ResourceARN=arn, Tags={"b": "2"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"b": "2"}
    aas.put_scheduled_action(
        ScheduledActionName="x", Schedule="rate(1 day)", ScalableTargetAction={"MinCapacity": 2}, **key
    )
    aas.deregister_scalable_target(**key)
    assert aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"] == []


def test_ecr_records_the_kms_key_arn(aws):
    kms = boto3.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/repo", TargetKeyId=key["KeyId"])
    repo = boto3.client("ecr").create_repository(
        repositoryName="repo", encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "alias/repo"}
    )["repository"]
    assert repo["encryptionConfiguration"]["kmsKey"] == key["Arn"]


def test_ecr_first_build_puts_the_tags_into_each_new_repository_only_when_asked(aws, monkeypatch):
    from tests.emulator.ctl import FIRST_BUILD_ENV

    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="as-on-aws")
    assert ecr.describe_images(repositoryName="as-on-aws")["imageDetails"] == []
    monkeypatch.setenv(FIRST_BUILD_ENV, "0.1.0")
    ecr.create_repository(repositoryName="first-build", imageScanningConfiguration={"scanOnPush": True})
    (image,) = ecr.describe_images(repositoryName="first-build")["imageDetails"]
    assert image["imageTags"] == ["0.1.0"]
    # Scan on push started its scan, as on AWS.
    scan = ecr.describe_image_scan_findings(repositoryName="first-build", imageId={"imageTag": "0.1.0"})
    assert scan["imageScanStatus"]["status"] == "COMPLETE"


def test_kms_key_calls_take_a_key_arn(aws):
    """Deletion scheduled, cancelled and the key enabled again, each named by ARN (as
    amazon.aws.kms_key does when it revives a key pending deletion)."""
    kms = boto3.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=arn)
    kms.enable_key(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"


def test_route53_recreates_a_deleted_record_beside_one_of_another_type(aws):
    route53 = boto3.client("route53")
    zone = route53.create_hosted_zone(Name="example.test", CallerReference="r")["HostedZone"]["Id"]

    def change(action, record_type):
        value = "192.0.2.1" if record_type == "A" else "2001:db8::1"
        record = {"Name": "app.example.test.", "Type": record_type, "TTL": 60}
        record["ResourceRecords"] = [{"Value": value}]
        route53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]}
        )

    def types():
        records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        return sorted(r["Type"] for r in records if r["Name"] == "app.example.test.")

    change("CREATE", "A")
    change("CREATE", "AAAA")
    change("DELETE", "A")
    assert types() == ["AAAA"]
    change("CREATE", "A")  # AWS accepts it: no A record of that name exists
    assert types() == ["A", "AAAA"]
    with pytest.raises(route53.exceptions.InvalidChangeBatch, match="already exists"):
        change("CREATE", "A")


def test_rds_data_api_of_a_provisioned_cluster_follows_its_own_operations(aws):
    """ModifyDBCluster's EnableHttpEndpoint "applies only to Aurora Serverless v1 DB clusters"
    (API_ModifyDBCluster.html); EnableHttpEndpoint / DisableHttpEndpoint switch a provisioned or
    Serverless v2 cluster and answer ResourceArn and HttpEndpointEnabled (API_EnableHttpEndpoint.html)."""
    import botocore.exceptions

    rds = boto3.client("rds")
    arn = rds.create_db_cluster(
        DBClusterIdentifier="data-api",
        Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.08.0",
        MasterUsername="admin",
        ManageMasterUserPassword=True,
    )["DBCluster"]["DBClusterArn"]

    def enabled():
        (cluster,) = rds.describe_db_clusters(DBClusterIdentifier="data-api")["DBClusters"]
        return cluster["HttpEndpointEnabled"]

    rds.modify_db_cluster(DBClusterIdentifier="data-api", EnableHttpEndpoint=True, ApplyImmediately=True)
    assert enabled() is False
    assert rds.enable_http_endpoint(ResourceArn=arn)["HttpEndpointEnabled"] is True
    assert enabled() is True
    answer = rds.disable_http_endpoint(ResourceArn=arn)
    assert (answer["ResourceArn"], answer["HttpEndpointEnabled"]) == (arn, False)
    assert enabled() is False
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        rds.enable_http_endpoint(ResourceArn=arn + "-gone")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundFault"
