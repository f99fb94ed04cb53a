"""The edge of every shipped inventory, converged (network, alb, route53) into a fresh emulator:

- both listeners pass on only requests whose Host is the environment's FQDN (443 forwards to the
  target group, 80 redirects to HTTPS) and answer any other Host with the fixed response;
- the web ACL exists in every environment with the inventory's per-IP and sign-in rate limits, the
  common rule set's SizeRestrictions_BODY and CrossSiteScripting_BODY on Count, and the rules that
  block on their labels everywhere but the note forms;
- a second converge reports no change and makes no write call.

What only real AWS can show (the WAF's verdicts on real traffic, the labels it emits, the ALB's
answer to a forged Host) is listed in roles/alb/README.md."""

import pytest
import yaml

from tests.emulator.ctl import REPO
from tests.integration.conftest import create_shared_zone

INVENTORIES = ["local", "dev", "test", "prod"]

EDGE_PLAYBOOK = """
- name: Converge the network and the edge
  hosts: aws
  gather_facts: false
  module_defaults:
    group/notejam.aws.aws:
      region: "{{ notejam_region }}"
  roles:
    - role: notejam.aws.network
    - role: notejam.aws.alb
    - role: notejam.aws.route53
"""

LABELS = {
    "block-oversized-body-outside-note-forms": "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body",
    "block-xss-body-outside-note-forms": "awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body",
}


def group_vars(env, name):
    return yaml.safe_load((REPO / "inventories" / env / "group_vars" / "all" / f"{name}.yml").read_text())


def listener_problems(elbv2, lb_arn, fqdn, target_group_arn):
    """What lets a request for another host through either listener (empty when none)."""
    problems = []
    listeners = {ln["Port"]: ln for ln in elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]}
    if sorted(listeners) != [80, 443]:
        return [f"listeners on ports {sorted(listeners)}, expected 80 and 443"]
    expected_action = {"https": "forward", "http": "redirect"}
    for name, port in (("https", 443), ("http", 80)):
        rules = elbv2.describe_rules(ListenerArn=listeners[port]["ListenerArn"])["Rules"]
        default = [r for r in rules if r["IsDefault"]]
        others = [r for r in rules if not r["IsDefault"]]
        actions = [a["Type"] for r in default for a in r["Actions"]]
        if actions != ["fixed-response"]:
            problems.append(f"{name}: default actions {actions}, expected only a fixed response")
        elif not default[0]["Actions"][0]["FixedResponseConfig"]["StatusCode"].startswith("4"):
            fixed = default[0]["Actions"][0]["FixedResponseConfig"]
            problems.append(f"{name}: the fixed response is {fixed}")
        for rule in others:
            hosts = [
                value
                for condition in rule["Conditions"]
                if condition["Field"] == "host-header"
                for value in condition.get("HostHeaderConfig", {}).get("Values", condition.get("Values", []))
            ]
            if hosts != [fqdn]:
                priority = rule["Priority"]
                problems.append(f"{name}: rule {priority} is not conditioned on {fqdn} alone: {hosts}")
        kinds = [a["Type"] for r in others for a in r["Actions"]]
        if kinds != [expected_action[name]]:
            problems.append(f"{name}: rule actions {kinds}, expected one {expected_action[name]}")
        if name == "https" and others:
            forwards = [a.get("TargetGroupArn") for a in others[0]["Actions"]]
            if forwards != [target_group_arn]:
                problems.append(f"https: the rule forwards to {forwards}, expected {target_group_arn}")
        if name == "http" and others:
            redirect = others[0]["Actions"][0].get("RedirectConfig", {})
            if (redirect.get("Protocol"), redirect.get("Port"), redirect.get("StatusCode")) != (
                "HTTPS",
                "443",
                "HTTP_301",
            ):
                problems.append(f"http: the rule redirects with {redirect}")
    return problems


def web_acl_problems(wafv2, acl_name, lb_arn, alb_vars):
    """How the environment's web ACL differs from the inventory's (empty when it does not)."""
    found = [a for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == acl_name]
    if not found:
        return [f"no web ACL {acl_name}"]
    acl = wafv2.get_web_acl(Name=acl_name, Scope="REGIONAL", Id=found[0]["Id"])["WebACL"]
    rules = {r["Name"]: r for r in acl["Rules"]}
    problems = []
    if wafv2.get_web_acl_for_resource(ResourceArn=lb_arn).get("WebACL", {}).get("Name") != acl_name:
        problems.append("the web ACL is not associated with the load balancer")

    blanket = rules.get("rate-limit-per-ip", {}).get("Statement", {}).get("RateBasedStatement", {})
    if (blanket.get("Limit"), blanket.get("EvaluationWindowSec"), blanket.get("AggregateKeyType")) != (
        alb_vars["alb_waf_rate_limit"],
        alb_vars["alb_waf_rate_window"],
        "IP",
    ):
        problems.append(f"blanket rate rule: {blanket}")

    login = rules.get("rate-limit-sign-in", {})
    statement = login.get("Statement", {}).get("RateBasedStatement", {})
    if (statement.get("Limit"), statement.get("EvaluationWindowSec"), statement.get("AggregateKeyType")) != (
        alb_vars["alb_waf_login_rate_limit"],
        alb_vars["alb_waf_login_rate_window"],
        "IP",
    ):
        problems.append(f"sign-in rate rule: {statement}")
    if "Block" not in login.get("Action", {}):
        problems.append(f"sign-in rate rule action: {login.get('Action')}")
    down = statement.get("ScopeDownStatement", {}).get("AndStatement", {}).get("Statements", [])
    regexes = [s.get("RegexMatchStatement", {}).get("RegexString") for s in down]
    if regexes != ["^POST$", "^(/signin/|/signup/|/forgot\\-password/)$"]:
        problems.append(f"sign-in rate rule scope-down: {regexes}")
    if not login or alb_vars["alb_waf_login_rate_limit"] * alb_vars["alb_waf_rate_window"] >= (
        alb_vars["alb_waf_rate_limit"] * alb_vars["alb_waf_login_rate_window"]
    ):
        problems.append("the sign-in rate is not below the blanket rate")

    common = rules.get("aws-common-rule-set", {})
    group = common.get("Statement", {}).get("ManagedRuleGroupStatement", {})
    overrides = {o["Name"]: o["ActionToUse"] for o in group.get("RuleActionOverrides", [])}
    if (group.get("VendorName"), group.get("Name")) != ("AWS", "AWSManagedRulesCommonRuleSet"):
        problems.append(f"common rule set: {group}")
    if overrides != {"SizeRestrictions_BODY": {"Count": {}}, "CrossSiteScripting_BODY": {"Count": {}}}:
        problems.append(f"common rule set overrides: {overrides}")
    if common.get("OverrideAction") != {"None": {}}:
        problems.append(f"common rule set override action: {common.get('OverrideAction')}")

    for name, label in LABELS.items():
        rule = rules.get(name, {})
        parts = rule.get("Statement", {}).get("AndStatement", {}).get("Statements", [])
        if "Block" not in rule.get("Action", {}) or rule.get("Priority", -1) <= common.get("Priority", 99):
            problems.append(f"{name}: action {rule.get('Action')}, priority {rule.get('Priority')}")
        if [p.get("LabelMatchStatement") for p in parts[:1]] != [{"Scope": "LABEL", "Key": label}]:
            problems.append(f"{name}: does not match the label {label}: {parts[:1]}")
        negated = parts[1].get("NotStatement", {}).get("Statement", {}) if len(parts) == 2 else {}
        exempt = negated.get("AndStatement", {}).get("Statements", [])
        exempt_regexes = [s.get("RegexMatchStatement", {}).get("RegexString") for s in exempt]
        if exempt_regexes != ["^POST$", "^/notes/(create|[0-9]+/edit)/$"]:
            problems.append(f"{name}: the exception is not POSTs to the note forms: {exempt_regexes}")
    return problems


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.parametrize("env", INVENTORIES)
def test_edge_pins_the_host_and_every_environment_has_the_scoped_waf(
    env, playbook, fresh_emulator, aws_client, tmp_path
):
    settings = group_vars(env, "main")
    alb_vars = group_vars(env, "alb")
    region = settings["notejam_region"]
    if env != "local":
        create_shared_zone(aws_client, settings["notejam_dns_zone"])
    path = tmp_path / "edge.yml"
    path.write_text(EDGE_PLAYBOOK)

    first = playbook(str(path), env)
    assert first.returncode == 0, first.tail()

    elbv2 = aws_client("elbv2", region)
    lb = elbv2.describe_load_balancers(Names=[f"notejam-{env}-alb"])["LoadBalancers"][0]
    tg = elbv2.describe_target_groups(Names=[f"notejam-{env}-app"])["TargetGroups"][0]
    fqdn = settings["notejam_fqdn"]
    assert listener_problems(elbv2, lb["LoadBalancerArn"], fqdn, tg["TargetGroupArn"]) == []
    assert alb_vars["alb_waf_enabled"] is True
    wafv2 = aws_client("wafv2", region)
    assert web_acl_problems(wafv2, f"notejam-{env}-alb", lb["LoadBalancerArn"], alb_vars) == []

    fresh_emulator.reset_calls()
    second = playbook(str(path), env)
    assert second.returncode == 0, second.tail()
    assert second.changed == 0, "\n".join(second.changed_tasks())
    calls = fresh_emulator.calls()
    assert calls["writes"] == 0, calls["write_calls"]


@pytest.mark.slow
@pytest.mark.emulator
def test_an_edge_built_before_host_pinning_gets_its_rules_before_the_default_changes(
    playbook, fresh_emulator, aws_client, tmp_path
):
    """The listeners as they were before host pinning (443 forwards everything, 80 redirects
    everything, no rules): the host rules go in beside the old defaults first, then the defaults
    change, so the FQDN is never answered with the fixed response."""
    settings = group_vars("local", "main")
    region, fqdn = settings["notejam_region"], settings["notejam_fqdn"]
    path = tmp_path / "edge.yml"
    path.write_text(EDGE_PLAYBOOK)
    first = playbook(str(path), "local")
    assert first.returncode == 0, first.tail()

    elbv2 = aws_client("elbv2", region)
    lb = elbv2.describe_load_balancers(Names=["notejam-local-alb"])["LoadBalancers"][0]
    tg = elbv2.describe_target_groups(Names=["notejam-local-app"])["TargetGroups"][0]
    old_defaults = {
        443: [{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
        80: [
            {
                "Type": "redirect",
                "RedirectConfig": {
                    "Protocol": "HTTPS",
                    "Port": "443",
                    "Host": "#{host}",
                    "Path": "/#{path}",
                    "Query": "#{query}",
                    "StatusCode": "HTTP_301",
                },
            }
        ],
    }
    for listener in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
        for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
            if not rule["IsDefault"]:
                elbv2.delete_rule(RuleArn=rule["RuleArn"])
        elbv2.modify_listener(
            ListenerArn=listener["ListenerArn"], DefaultActions=old_defaults[listener["Port"]]
        )

    fresh_emulator.reset_calls()
    upgrade = playbook(str(path), "local")
    assert upgrade.returncode == 0, upgrade.tail()
    changed = [line for line in upgrade.changed_tasks() if "notejam.aws.alb" in line]
    ahead = [n for n, line in enumerate(changed) if "Add the host rules ahead of the default action" in line]
    final = [n for n, line in enumerate(changed) if "Load balancer with its listeners, host rules" in line]
    assert ahead and final and ahead[0] < final[0], changed
    writes = fresh_emulator.calls()["write_calls"]
    assert writes.get("elbv2:CreateRule") == 2, writes
    assert writes.get("elbv2:ModifyListener") == 2, writes
    assert not {"elbv2:DeleteRule", "elbv2:DeleteListener", "elbv2:CreateListener"} & set(writes), writes
    assert listener_problems(elbv2, lb["LoadBalancerArn"], fqdn, tg["TargetGroupArn"]) == []

    fresh_emulator.reset_calls()
    again = playbook(str(path), "local")
    assert again.returncode == 0 and again.changed == 0, "\n".join(again.changed_tasks())
    assert fresh_emulator.calls()["writes"] == 0, fresh_emulator.calls()["write_calls"]
