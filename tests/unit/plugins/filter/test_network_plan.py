"""network_plan: subnets planned per tier and AZ, and bad input refused naming the variable."""

import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / ".collections"))

from ansible_collections.notejam.aws.plugins.filter.network import network_plan, network_subnets


def test_plan_splits_a_16_into_one_20_per_tier_and_az():
    plan = network_plan("10.40.0.0/16", 2)
    assert plan == {
        "public": ["10.40.0.0/20", "10.40.16.0/20"],
        "app": ["10.40.64.0/20", "10.40.80.0/20"],
        "data": ["10.40.128.0/20", "10.40.144.0/20"],
    }


def test_adding_an_az_keeps_every_existing_subnet():
    two, three = network_plan("10.30.0.0/16", 2), network_plan("10.30.0.0/16", 3)
    for tier in two:
        assert three[tier][:2] == two[tier]


def test_subnets_are_named_by_tier_and_az():
    subnets = network_subnets(network_plan("10.40.0.0/16", 2), ["us-east-1a", "us-east-1b"], "notejam-local")
    assert [s["name"] for s in subnets][:2] == [
        "notejam-local-public-us-east-1a",
        "notejam-local-public-us-east-1b",
    ]
    assert {s["tier"] for s in subnets} == {"public", "app", "data"}


@pytest.mark.parametrize(
    ("cidr", "az_count", "explicit", "message"),
    [
        ("10.40.0.0/33", 2, None, "notejam_vpc_cidr: '10.40.0.0/33' is not a valid IPv4 CIDR"),
        ("10.40.0.1/16", 2, None, "notejam_vpc_cidr: '10.40.0.1/16' is not a valid IPv4 CIDR"),
        ("10.0.0.0/8", 2, None, "AWS accepts /16 to /28"),
        ("10.40.0.0/16", 1, None, "network_az_count: 1 is below 2"),
        (
            "10.40.0.0/16",
            2,
            {
                "public": ["10.40.0.0/24", "10.40.1.0/24"],
                "app": ["10.40.0.0/24", "10.40.3.0/24"],
                "data": ["10.40.4.0/24", "10.40.5.0/24"],
            },
            "network_subnet_cidrs.app[0]: 10.40.0.0/24 overlaps network_subnet_cidrs.public[0]",
        ),
        (
            "10.40.0.0/16",
            2,
            {
                "public": ["10.40.0.0/24", "10.41.1.0/24"],
                "app": ["10.40.2.0/24", "10.40.3.0/24"],
                "data": ["10.40.4.0/24", "10.40.5.0/24"],
            },
            "network_subnet_cidrs.public[1]: 10.41.1.0/24 is outside notejam_vpc_cidr",
        ),
        (
            "10.40.0.0/16",
            2,
            {
                "public": ["10.40.0.0/24"],
                "app": ["10.40.2.0/24", "10.40.3.0/24"],
                "data": ["10.40.4.0/24", "10.40.5.0/24"],
            },
            "network_subnet_cidrs.public: 1 CIDR(s) given",
        ),
        ("10.40.0.0/16", 2, {"dmz": ["10.40.0.0/24"]}, "network_subnet_cidrs: unknown tier(s) dmz"),
        ("10.40.0.0/26", 2, None, "too small"),
    ],
)
def test_bad_input_is_refused_naming_the_variable(cidr, az_count, explicit, message):
    with pytest.raises(AnsibleFilterError) as err:
        network_plan(cidr, az_count, explicit)
    assert message in str(err.value)
