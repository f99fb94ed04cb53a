"""Fargate task sizes and CPU/memory unit parsing."""

import pytest
from ansible_collections.notejam.aws.plugins.module_utils.validation import (
    cpu_units,
    fargate_size_error,
    memory_mib,
)


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [
        (256, 512),
        (256, 2048),
        (512, 4096),
        (1024, 8192),
        (2048, 16384),
        (4096, 30720),
        (8192, 61440),
        (8192, 20480),
        (16384, 122880),
        (16384, 40960),
    ],
)
def test_valid_fargate_sizes(cpu, memory):
    assert fargate_size_error(cpu, memory) is None


@pytest.mark.parametrize(
    ("cpu", "memory", "expected"),
    [
        (256, 4096, "accepted: 512, 1024, 2048"),
        (512, 512, "accepted: 1024 to 4096 in steps of 1024"),
        (4096, 31744, "accepted: 8192 to 30720 in steps of 1024"),
        (8192, 17408, "accepted: 16384 to 61440 in steps of 4096"),
        (16384, 36864, "accepted: 32768 to 122880 in steps of 8192"),
        (300, 1024, "cpu=300 is not a Fargate CPU size; accepted: 256, 512, 1024, 2048, 4096, 8192, 16384"),
    ],
)
def test_invalid_fargate_sizes_name_what_is_accepted(cpu, memory, expected):
    assert expected in fargate_size_error(cpu, memory)


def test_units_parse_like_aws_stores_them():
    assert cpu_units("1 vCPU") == 1024
    assert cpu_units(".25 vcpu") == 256
    assert cpu_units("512") == 512
    assert memory_mib("2 GB") == 2048
    assert memory_mib(512) == 512
    with pytest.raises(ValueError):
        cpu_units("lots")
    with pytest.raises(ValueError):
        memory_mib("2 TB")
