"""Bad edge input fails before any AWS call, naming the variable at fault: a health check path
without a leading /, a certificate domain (notejam_fqdn) outside notejam_dns_zone, a deregistration
delay not below the task stop timeout, an idle timeout out of range, a fixed response to other hosts
that is not an error, a host rule priority out of range, a sign-in rate limit below WAF's minimum or
not below the blanket rate, an evaluation window WAF does not offer, a note form path that is not an
anchored expression. A missing shared zone fails clearly and creates nothing."""

import json

import pytest

# The network role's fact, as if it had run: the edge's checks come first.
NETWORK = json.dumps(
    {
        "notejam_network": {
            "vpc_id": "vpc-0",
            "vpc_cidr": "10.40.0.0/16",
            "azs": ["us-east-1a", "us-east-1b"],
            "subnets": {"public": ["subnet-a", "subnet-b"], "app": [], "data": []},
            "security_groups": {
                "alb": "sg-2",
                "app": "sg-1",
                "db": "sg-0",
                "migrate": "sg-3",
                "codebuild": "sg-4",
            },
        }
    }
)

EDGE_PLAYBOOK = """
- name: Converge the edge alone
  hosts: aws
  gather_facts: false
  module_defaults:
    group/notejam.aws.aws:
      region: "{{ notejam_region }}"
  roles:
    - role: notejam.aws.alb
    - role: notejam.aws.route53
"""

ZONE_PLAYBOOK = """
- name: Look up the environment's zone
  hosts: aws
  gather_facts: false
  module_defaults:
    group/notejam.aws.aws:
      region: "{{ notejam_region }}"
  tasks:
    - name: The zone
      ansible.builtin.include_role:
        name: notejam.aws.route53
        tasks_from: zone
"""


@pytest.fixture
def edge_playbook(tmp_path):
    path = tmp_path / "edge.yml"
    path.write_text(EDGE_PLAYBOOK)
    return str(path)


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("inventory", "extra_vars", "expected"),
    [
        ("local", "alb_health_check_path=readyz", "alb_health_check_path=readyz"),
        ("dev", "alb_health_check_path='/ready z'", "alb_health_check_path=/ready z"),
        ("dev", "notejam_fqdn=dev.notejam.example.org", "alb_fqdn=dev.notejam.example.org"),
        ("prod", "notejam_fqdn=notejam.example.com.evil.test", "alb_fqdn=notejam.example.com.evil.test"),
        ("test", "alb_deregistration_delay=30", "alb_deregistration_delay=30"),
        ("local", "alb_deregistration_delay=45 alb_task_stop_timeout=30", "alb_deregistration_delay=45"),
        ("prod", "alb_idle_timeout=0", "alb_idle_timeout=0"),
        ("dev", "alb_idle_timeout=4001", "alb_idle_timeout=4001"),
        ("test", "alb_misdirected_status_code=200", "alb_misdirected_status_code=200"),
        ("dev", "alb_host_rule_priority=0", "alb_host_rule_priority=0"),
        ("local", "alb_waf_login_rate_limit=5", "alb_waf_login_rate_limit=5"),
        ("prod", "alb_waf_login_rate_limit=3000", "alb_waf_login_rate_limit=3000"),
        ("dev", "alb_waf_login_rate_window=30", "alb_waf_login_rate_window"),
        ("test", "alb_waf_note_form_path_regex=/notes/", "alb_waf_note_form_path_regex=/notes/"),
    ],
)
def test_bad_edge_input_fails_before_any_aws_call(
    inventory, extra_vars, expected, edge_playbook, playbook, fresh_emulator
):
    fresh_emulator.reset_calls()
    run = playbook(edge_playbook, inventory, "-e", NETWORK, "-e", extra_vars)
    assert run.returncode != 0
    assert expected in run.output, run.tail()
    calls = fresh_emulator.calls()
    assert calls["total"] == 0, calls["calls"]


@pytest.mark.emulator
def test_missing_shared_zone_fails_clearly_and_creates_nothing(tmp_path, playbook, fresh_emulator):
    path = tmp_path / "zone.yml"
    path.write_text(ZONE_PLAYBOOK)
    fresh_emulator.reset_calls()
    run = playbook(str(path), "dev")
    assert run.returncode != 0
    assert "route53_zone_name=notejam.example.com (notejam_dns_zone) does not exist" in run.output, run.tail()
    calls = fresh_emulator.calls()
    assert calls["writes"] == 0, calls["write_calls"]


@pytest.mark.emulator
def test_local_creates_its_own_zone_once(tmp_path, playbook, fresh_emulator):
    path = tmp_path / "zone.yml"
    path.write_text(ZONE_PLAYBOOK)
    first = playbook(str(path), "local")
    assert first.returncode == 0, first.tail()
    assert fresh_emulator.calls()["write_calls"].get("route53:CreateHostedZone") == 1
    fresh_emulator.reset_calls()
    again = playbook(str(path), "local")
    assert again.returncode == 0 and again.changed == 0, again.changed_tasks()
    assert fresh_emulator.calls()["writes"] == 0, fresh_emulator.calls()["write_calls"]


@pytest.mark.emulator
@pytest.mark.parametrize(
    "base_url",
    [
        "notejam.example.com",  # no scheme
        "https://notejam.example.com/",  # a trailing slash: links would get //
        "https://evil.example@notejam.example.com",  # credentials
        "ftp://notejam.example.com",
    ],
)
def test_bad_base_url_fails_before_any_aws_call(base_url, playbook, fresh_emulator):
    """NOTEJAM_BASE_URL (ecs_service_base_url) is the address every link in a mail is built from."""
    fresh_emulator.reset_calls()
    run = playbook("site.yml", "local", "--tags", "ecs_service", "-e", f"ecs_service_base_url={base_url}")
    assert run.returncode != 0
    assert f"ecs_service_base_url='{base_url}' is not accepted" in run.output, run.tail()
    assert fresh_emulator.calls()["total"] == 0, fresh_emulator.calls()["calls"]
