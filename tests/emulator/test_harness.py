"""The harness itself: it names and counts calls, and serves stand-ins where moto has none."""

import boto3


def test_calls_are_named_and_counted_by_operation(emulator):
    emulator.reset_calls()
    env = emulator.env()
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="eu-west-1",
    )
    ec2 = session.client("ec2", endpoint_url=emulator.url)
    ec2.describe_vpcs()
    ec2.create_vpc(CidrBlock="10.99.0.0/16")
    session.client("ecs", endpoint_url=emulator.url).list_clusters()
    session.client("route53", endpoint_url=emulator.url).list_hosted_zones()

    calls = emulator.calls()

    assert calls["calls"] == {
        "ec2:CreateVpc": 1,
        "ec2:DescribeVpcs": 1,
        "ecs:ListClusters": 1,
        "route53:ListHostedZones": 1,
    }
    assert calls["write_calls"] == {"ec2:CreateVpc": 1}
    assert calls["writes"] == 1
