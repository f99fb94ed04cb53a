"""Bad input fails before the first AWS call, naming the variable at fault."""

import pytest


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("extra_vars", "expected"),
    [
        ("notejam_vpc_cidr=10.40.0.0/33", "notejam_vpc_cidr"),
        ("network_az_count=1", "network_az_count"),
        ("network_nat_gateways=sometimes", "network_nat_gateways"),
        ("network_flow_logs_retention_days=10", "network_flow_logs_retention_days"),
    ],
)
def test_bad_network_input_fails_before_any_aws_call(extra_vars, expected, playbook, fresh_emulator):
    fresh_emulator.reset_calls()
    run = playbook("site.yml", "local", "--tags", "network", "-e", extra_vars)
    assert run.returncode != 0
    assert expected in run.output
    assert fresh_emulator.calls()["total"] == 0, fresh_emulator.calls()["calls"]


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("aurora", "run the network role first"),
        ("backup", "run the aurora role"),
        ("alb", "notejam_network fact"),
        ("ecs_service", "run the network, aurora and alb roles first"),
    ],
)
def test_a_tier_alone_without_the_facts_it_needs_says_which_role_to_run_first(
    tags, expected, playbook, fresh_emulator
):
    """--tags <tier> on its own, without the tiers it builds on in the play: a clear message before
    any AWS call (the route53 tier alone looks its load balancer up instead: test_site)."""
    fresh_emulator.reset_calls()
    run = playbook("site.yml", "local", "--tags", tags)
    assert run.returncode != 0
    assert expected in " ".join(run.output.split()), run.tail()
    assert fresh_emulator.calls()["total"] == 0, fresh_emulator.calls()["calls"]


@pytest.mark.emulator
def test_route53_alone_without_a_load_balancer_says_so_and_writes_nothing(playbook, fresh_emulator):
    fresh_emulator.reset_calls()
    run = playbook("site.yml", "local", "--tags", "route53")
    assert run.returncode != 0
    message = "no load balancer named notejam-local-alb (route53_alb_name) was found"
    assert message in " ".join(run.output.split()), run.tail()
    assert fresh_emulator.calls()["writes"] == 0, fresh_emulator.calls()["write_calls"]


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("extra_vars", "expected"),
    [
        ("monitoring_alb_5xx_rate_percent=150", "monitoring_alb_5xx_rate_percent=150 is out of range"),
        (
            "monitoring_target_p99_latency_seconds=-1",
            "monitoring_target_p99_latency_seconds=-1",
        ),
        ('{"monitoring_subscriptions": [{"protocol": "sms", "endpoint": "+353000000"}]}', "email, https"),
        (
            '{"monitoring_subscriptions": [{"protocol": "email", "endpoint": "oncall-at-example.com"}]}',
            "monitoring_subscriptions[0]",
        ),
        (
            '{"monitoring_subscriptions": [{"protocol": "https", "endpoint": "http://hooks.example.com/x"}]}',
            "monitoring_subscriptions[0]",
        ),
    ],
)
def test_bad_monitoring_input_fails_before_any_aws_call(extra_vars, expected, playbook, fresh_emulator):
    fresh_emulator.reset_calls()
    run = playbook("site.yml", "local", "--tags", "monitoring", "-e", extra_vars)
    assert run.returncode != 0
    assert expected in " ".join(run.output.split()), run.tail()
    assert fresh_emulator.calls()["total"] == 0, fresh_emulator.calls()["calls"]
