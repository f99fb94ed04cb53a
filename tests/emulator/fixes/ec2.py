"""EC2 as AWS does it, where moto 5.2.5 differs."""

from moto.ec2 import utils as ec2_utils


def apply():
    """DescribeTags names a NAT gateway's resource type ``natgateway`` (the value AWS documents
    for the ``resource-type`` filter); moto says ``nat-gateway``, so a tag look-up filtered by
    type finds nothing and amazon.aws's ec2_vpc_nat_gateway re-tags the gateway on every run."""
    ec2_utils.EC2_PREFIX_TO_RESOURCE["nat"] = "natgateway"
