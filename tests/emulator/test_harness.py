"""The harness itself: it names and counts calls, and serves stand-ins where moto has none."""

import contextlib

import botocore.exceptions


def test_calls_are_named_and_counted_by_operation(emulator):
    emulator.reset_calls()
    ec2 = emulator.client("ec2", "eu-west-1")
    ec2.describe_vpcs()
    ec2.create_vpc(CidrBlock="10.99.0.0/16")
    emulator.client("ecs", "eu-west-1").list_clusters()
    emulator.client("route53", "eu-west-1").list_hosted_zones()

    calls = emulator.calls()

    assert calls["calls"] == {
        "ec2:CreateVpc": 1,
        "ec2:DescribeVpcs": 1,
        "ecs:ListClusters": 1,
        "route53:ListHostedZones": 1,
    }
    assert calls["write_calls"] == {"ec2:CreateVpc": 1}
    assert calls["writes"] == 1


def test_s3_operations_sharing_a_path_are_told_apart_by_their_query_key(emulator):
    """S3 names many operations by a query key on one path (``GET /{Bucket}?policy``): reading a
    bucket's settings must not be counted as a write (CreateSession is ``GET /{Bucket}?session``)."""
    s3 = emulator.client("s3", "us-east-1")
    s3.create_bucket(Bucket="harness-query-keys")
    emulator.reset_calls()

    s3.get_bucket_versioning(Bucket="harness-query-keys")
    with contextlib.suppress(botocore.exceptions.ClientError):  # NoSuchTagSet: no tags yet
        s3.get_bucket_tagging(Bucket="harness-query-keys")
    s3.list_objects_v2(Bucket="harness-query-keys")
    s3.put_bucket_versioning(Bucket="harness-query-keys", VersioningConfiguration={"Status": "Enabled"})

    calls = emulator.calls()
    assert calls["calls"] == {
        "s3:GetBucketVersioning": 1,
        "s3:GetBucketTagging": 1,
        "s3:ListObjectsV2": 1,
        "s3:PutBucketVersioning": 1,
    }
    assert calls["write_calls"] == {"s3:PutBucketVersioning": 1}
