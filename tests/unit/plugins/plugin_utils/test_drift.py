"""The drift ledger: what a check-mode converge would change, named per tier and resource."""

from types import SimpleNamespace

from ansible_collections.notejam.aws.plugins.plugin_utils.drift import DriftLedger, changed_paths, tier_of


def test_changes_list_of_our_modules_names_the_paths():
    assert changed_paths({"changed": True, "changes": ["groups.app.ingress"]}) == ["groups.app.ingress"]


def test_diff_of_other_modules_names_the_keys_that_differ():
    result = {"changed": True, "diff": {"before": {"max": 4, "min": 1}, "after": {"max": 9, "min": 1}}}
    assert changed_paths(result) == ["max"]


def test_diff_lists_and_a_missing_resource():
    result = {"diff": [{"before": {}, "after": {"name": "x"}}, {"before": {"a": 1}, "after": {"a": 2}}]}
    assert changed_paths(result) == ["name", "a"]
    assert changed_paths({"diff": {"before": "", "after": "new text"}}) == ["(whole resource)"]


def test_no_detail_still_counts_as_drift():
    ledger = DriftLedger()
    ledger.arm()
    ledger.record("alb", "h", "Listener rules", {"changed": True})
    assert ledger.by_tier("h") == {"alb": ["Listener rules: would change (the module gave no detail)"]}


def test_long_change_lists_are_cut_with_a_count():
    paths = changed_paths({"changes": [f"p{i}" for i in range(12)]})
    assert paths[-1] == "... 4 more" and len(paths) == 9


def test_report_is_per_host_and_per_tier_in_run_order():
    ledger = DriftLedger()
    ledger.arm()
    ledger.record(
        "network", "dev", "Security groups", {"changes": ["groups.app.ingress"], "name": "notejam-dev"}
    )
    ledger.record("ecs_service", "dev", "Autoscaling", {"changes": ["max_capacity"]})
    ledger.record("network", "prod", "Security groups", {"changes": ["groups.db.ingress"]})
    assert ledger.by_tier("dev") == {
        "network": ["Security groups notejam-dev: groups.app.ingress"],
        "ecs_service": ["Autoscaling: max_capacity"],
    }
    assert list(ledger.by_tier()) == ["network", "ecs_service"]


def test_arming_empties_the_ledger():
    ledger = DriftLedger()
    ledger.arm()
    ledger.record("alb", "h", "t", {"changed": True})
    ledger.arm()
    assert ledger.armed and ledger.by_tier() == {}


def test_tier_is_the_role_without_its_collection():
    role = SimpleNamespace(get_name=lambda: "notejam.aws.network")
    assert tier_of(SimpleNamespace(_role=role)) == "network"
    assert tier_of(SimpleNamespace(_role=None)) == "playbook"
