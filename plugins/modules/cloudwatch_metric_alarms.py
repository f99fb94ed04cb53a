#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cloudwatch_metric_alarms
short_description: Converge every CloudWatch metric alarm under a name prefix in one run
version_added: 0.3.0
description:
  - Creates, updates and (with O(purge)) deletes the CloudWatch metric alarms whose names start with
    O(prefix), so that exactly O(alarms) exist. One module run reads all of them with one paginated
    C(DescribeAlarms) call and writes only the alarms that differ (C(PutMetricAlarm) replaces an alarm
    as a whole); a second run makes no write call.
  - Why not M(amazon.aws.cloudwatch_metric_alarm) (10.1)? It manages one alarm per task, and a tier of
    a dozen alarms then costs a dozen module runs on every no-op converge and drift check; one batched
    run reads them all at once.
  - Alarms are compared field by field after AWS's defaults are made explicit (C(ActionsEnabled) true,
    C(TreatMissingData) C(missing), C(ReturnData) true, empty action lists), dimensions and action lists
    unordered, thresholds as numbers, so AWS's own way of echoing an alarm is never a change.
  - Each alarm is checked against botocore's C(PutMetricAlarm) model before any call (unknown keys,
    enum values) and for what the API reference demands (a single metric or metric math, exactly one
    query returning data, a period CloudWatch accepts).
author:
  - notejam.aws maintainers (@notejam)
options:
  prefix:
    description:
      - Every alarm this module owns starts with this prefix (e.g. C(notejam-prod-)); every name in
        O(alarms) must start with it.
    type: str
    required: true
  alarms:
    description:
      - The alarms, as C(PutMetricAlarm) takes them, in snake_case (C(alarm_name), C(metric_name),
        C(namespace), C(statistic), C(extended_statistic), C(dimensions) (C(name)/C(value)),
        C(period), C(evaluation_periods), C(datapoints_to_alarm), C(threshold),
        C(comparison_operator), C(treat_missing_data), C(alarm_description), C(actions_enabled),
        C(alarm_actions), C(ok_actions), C(insufficient_data_actions), C(unit), C(metrics) (metric
        math queries with C(id), C(expression), C(label), C(return_data), C(period), C(metric_stat)),
        and so on.
      - Tags come from O(tags), the same on every alarm.
    type: list
    elements: dict
    default: []
  purge:
    description: Delete alarms under O(prefix) that are not in O(alarms).
    type: bool
    default: true
  state:
    description: C(present) converges O(alarms); C(absent) deletes every metric alarm under O(prefix).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The ALB's 5xx rate (metric math) and the targets' p99 latency
  notejam.aws.cloudwatch_metric_alarms:
    prefix: notejam-prod-
    alarms:
      - alarm_name: notejam-prod-alb-5xx-rate
        comparison_operator: GreaterThanThreshold
        threshold: 5
        evaluation_periods: 3
        datapoints_to_alarm: 2
        treat_missing_data: notBreaching
        alarm_actions: [arn:aws:sns:eu-west-1:123456789012:notejam-prod-alarms]
        ok_actions: [arn:aws:sns:eu-west-1:123456789012:notejam-prod-alarms]
        metrics:
          - id: rate
            expression: "IF(requests >= 50, 100 * errors / requests, 0)"
            label: 5xx in percent of requests
          - id: errors
            return_data: false
            metric_stat:
              metric:
                namespace: AWS/ApplicationELB
                metric_name: HTTPCode_Target_5XX_Count
                dimensions: [{name: LoadBalancer, value: app/notejam-prod-alb/0123456789abcdef}]
              period: 60
              stat: Sum
          - id: requests
            return_data: false
            metric_stat:
              metric:
                namespace: AWS/ApplicationELB
                metric_name: RequestCount
                dimensions: [{name: LoadBalancer, value: app/notejam-prod-alb/0123456789abcdef}]
              period: 60
              stat: Sum
      - alarm_name: notejam-prod-target-p99-latency
        namespace: AWS/ApplicationELB
        metric_name: TargetResponseTime
        dimensions: [{name: LoadBalancer, value: app/notejam-prod-alb/0123456789abcdef}]
        extended_statistic: p99
        period: 60
        evaluation_periods: 5
        threshold: 1.5
        comparison_operator: GreaterThanThreshold
    tags: {Project: notejam, Environment: prod, ManagedBy: ansible}

- name: Remove every alarm of the environment
  notejam.aws.cloudwatch_metric_alarms:
    prefix: notejam-prod-
    state: absent
"""

RETURN = r"""
alarms:
  description: The alarms under O(prefix) as AWS describes them now (snake_case), with their tags.
  returned: always
  type: list
  elements: dict
created:
  description: Names of the alarms created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
updated:
  description: Names of the alarms updated (or that would be).
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the alarms deleted (or that would be).
  returned: always
  type: list
  elements: str
changes:
  description: Dotted paths (alarm name, then field) of what differed.
  returned: always
  type: list
  elements: str
  sample: ["notejam-prod-alb-5xx-rate.Threshold"]
"""

import re  # noqa: E402

from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import (  # noqa: E402
    AwsResource,
    conform,
    differences,
    drop_none,
    merge_desired,
    paginate,
    snake,
    tag_delta,
    whole,
)

# PutMetricAlarm fields this module manages (Tags aside); everything AWS adds (state, ARN, times) is not.
MANAGED = (
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)
ACTION_LISTS = ("OKActions", "AlarmActions", "InsufficientDataActions")
# snake_dict_to_camel_dict gives "OkActions"; the API says "OKActions".
RENAMED = {"OkActions": "OKActions"}
# Periods CloudWatch accepts for an alarm: 10, 20, 30 (high resolution) or a multiple of 60
# (PutMetricAlarm API reference, "Period").
HIGH_RESOLUTION_PERIODS = (10, 20, 30)


def _camel(alarm):
    camel = snake_dict_to_camel_dict(alarm, capitalize_first=True)
    return {RENAMED.get(k, k): v for k, v in camel.items()}


def _dimensions(items):
    return sorted(
        ({"Name": str(d["Name"]), "Value": str(d["Value"])} for d in items or []), key=lambda d: d["Name"]
    )


def _query(query):
    """One metric math query with AWS's defaults explicit (ReturnData is true unless said)."""
    query = drop_none(dict(query))
    query["ReturnData"] = bool(query.get("ReturnData", True))
    stat = query.get("MetricStat")
    if stat:
        stat = dict(stat)
        metric = dict(stat.get("Metric") or {})
        metric["Dimensions"] = _dimensions(metric.get("Dimensions"))
        stat["Metric"] = metric
        stat["Period"] = int(stat["Period"])
        query["MetricStat"] = stat
    if "Period" in query:
        query["Period"] = int(query["Period"])
    return query


def normalise(alarm):
    """An alarm in the comparable shape: the managed fields, AWS's defaults explicit, lists unordered."""
    state = {k: alarm.get(k) for k in MANAGED}
    # AWS may echo an empty string for an optional text field never set.
    for key in ("AlarmDescription", "EvaluateLowSampleCountPercentile", "Unit"):
        state[key] = alarm.get(key) or None
    state["ActionsEnabled"] = bool(alarm.get("ActionsEnabled", True))
    state["TreatMissingData"] = alarm.get("TreatMissingData") or "missing"
    for key in ACTION_LISTS:
        state[key] = sorted(alarm.get(key) or [])
    state["Dimensions"] = _dimensions(alarm.get("Dimensions")) if alarm.get("MetricName") else None
    if alarm.get("Threshold") is not None:
        state["Threshold"] = float(alarm["Threshold"])
    if alarm.get("Metrics"):
        state["Metrics"] = sorted((_query(q) for q in alarm["Metrics"]), key=lambda q: q["Id"])
    else:
        state["Metrics"] = None
    state["Tags"] = alarm.get("Tags") or {}
    return drop_none(state)


class MetricAlarms(AwsResource):
    service = "cloudwatch"
    result_key = "alarms"

    def validate(self):
        p = self.params
        self.wanted = {}
        if p["state"] == "absent":
            return
        for index, alarm in enumerate(p["alarms"]):
            where = f"alarms[{index}]"
            try:
                shaped = conform(self.client, "PutMetricAlarmInput", _camel(alarm), where)
            except ValueError as e:
                # conform() names fields as the API does; the user wrote them in snake_case.
                self.module.fail_json(
                    msg=re.sub(r"\.([A-Z][A-Za-z]*)", lambda m: "." + _snake(m.group(1)), str(e))
                )
            name = shaped.get("AlarmName") or ""
            where = f"alarms[{index}] ({name or 'no alarm_name'})"
            self._check(shaped, where)
            if name in self.wanted:
                self.module.fail_json(msg=f"{where}: alarm_name {name} is given twice")
            self.wanted[name] = shaped

    def _check(self, alarm, where):
        fail = self.module.fail_json
        name = alarm.get("AlarmName")
        if not name or not name.startswith(self.params["prefix"]):
            fail(msg=f"{where}: alarm_name must start with prefix {self.params['prefix']!r}")
        for key in ("EvaluationPeriods", "Threshold", "ComparisonOperator"):
            if alarm.get(key) is None and not (key == "Threshold" and alarm.get("ThresholdMetricId")):
                fail(msg=f"{where}: {_snake(key)} is required")
        if alarm["EvaluationPeriods"] < 1:
            fail(msg=f"{where}: evaluation_periods={alarm['EvaluationPeriods']}; accepted: 1 or more")
        points = alarm.get("DatapointsToAlarm")
        if points is not None and not 1 <= points <= alarm["EvaluationPeriods"]:
            most = alarm["EvaluationPeriods"]
            fail(msg=f"{where}: datapoints_to_alarm={points}; accepted: 1 to evaluation_periods ({most})")
        single = alarm.get("MetricName") is not None
        queries = alarm.get("Metrics") or []
        if single == bool(queries):
            fail(msg=f"{where}: give either metric_name (one metric) or metrics (metric math), not both")
        if single:
            if not alarm.get("Namespace"):
                fail(msg=f"{where}: namespace is required with metric_name")
            if bool(alarm.get("Statistic")) == bool(alarm.get("ExtendedStatistic")):
                fail(msg=f"{where}: give one of statistic or extended_statistic")
            self._check_period(alarm.get("Period"), f"{where}: period")
        else:
            for key in ("Namespace", "Statistic", "ExtendedStatistic", "Period", "Dimensions", "Unit"):
                if alarm.get(key) is not None:
                    fail(msg=f"{where}: {_snake(key)} belongs in metrics[].metric_stat with metric math")
            ids = [q.get("Id") for q in queries]
            if None in ids or len(set(ids)) != len(ids):
                fail(msg=f"{where}: every metrics[] entry needs a unique id")
            returning = [q for q in queries if q.get("ReturnData", True)]
            if len(returning) != 1:
                fail(msg=f"{where}: exactly one of metrics[] must return data; {len(returning)} do")
            for query in queries:
                if bool(query.get("Expression")) == bool(query.get("MetricStat")):
                    fail(msg=f"{where}: metrics[{query['Id']}] needs one of expression or metric_stat")
                if query.get("MetricStat"):
                    self._check_period(
                        query["MetricStat"].get("Period"),
                        f"{where}: metrics[{query['Id']}].metric_stat.period",
                    )

    def _check_period(self, period, where):
        if period is None or not (period in HIGH_RESOLUTION_PERIODS or (period >= 60 and period % 60 == 0)):
            self.module.fail_json(msg=f"{where}={period}; accepted: 10, 20, 30 or a multiple of 60 seconds")

    def read(self):
        alarms = paginate(
            self.client,
            "describe_alarms",
            "MetricAlarms",
            AlarmNamePrefix=self.params["prefix"],
            AlarmTypes=["MetricAlarm"],
        )
        found = {}
        for alarm in alarms:
            alarm = dict(alarm)
            tags = self.client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags") or []
            alarm["Tags"] = {t["Key"]: t["Value"] for t in tags}
            found[alarm["AlarmName"]] = alarm
        return found

    def comparable(self, raw):
        return {name: normalise(alarm) for name, alarm in raw.items()}

    def desired(self, before):
        p = self.params
        wanted = {}
        for name, alarm in self.wanted.items():
            alarm = dict(alarm)
            if p["tags"] is not None:
                current = ((before or {}).get(name) or {}).get("Tags") or {}
                alarm["Tags"] = {str(k): str(v) for k, v in p["tags"].items()}
                if not p["purge_tags"]:
                    alarm["Tags"] = dict(current, **alarm["Tags"])
            else:
                alarm["Tags"] = ((before or {}).get(name) or {}).get("Tags") or {}
            wanted[name] = whole(normalise(alarm))
        if p["purge"]:
            return whole(wanted)
        return wanted

    def plan(self):
        raw = self.read()
        before = self.comparable(raw)
        after = {} if self.params["state"] == "absent" else merge_desired(before, self.desired(before))
        return raw, before, after, differences(before, after)

    def apply(self, raw, before, after, changes):
        created, updated, deleted = _split(before, after)
        for name in created + updated:
            wanted = dict(after[name])
            tags = wanted.pop("Tags", {})
            params = dict(wanted, AlarmName=name)
            if name in created and tags:
                params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
            self.client.put_metric_alarm(**params)
            if name in updated and before[name].get("Tags") != tags:
                to_set, to_unset = tag_delta(before[name].get("Tags"), tags)
                arn = raw[name]["AlarmArn"]
                if to_unset:
                    self.client.untag_resource(ResourceARN=arn, TagKeys=list(to_unset))
                if to_set:
                    self.client.tag_resource(
                        ResourceARN=arn, Tags=[{"Key": k, "Value": v} for k, v in to_set.items()]
                    )
        for start in range(0, len(deleted), 100):  # DeleteAlarms takes at most 100 names
            self.client.delete_alarms(AlarmNames=deleted[start : start + 100])
        return self.read()

    def finish(self, raw, before, after, changes, **extra_result):
        created, updated, deleted = _split(before, after)
        if self.module.check_mode:
            shown = [snake(dict(a, AlarmName=n)) for n, a in sorted((after or {}).items())]
        else:
            shown = [snake(a) for _, a in sorted((raw or {}).items())]
        self.module.exit_json(
            changed=bool(changes),
            changes=changes,
            created=created,
            updated=updated,
            deleted=deleted,
            diff={"before": snake(before), "after": snake(after)},
            alarms=shown,
        )


def _split(before, after):
    before, after = before or {}, after or {}
    created = sorted(n for n in after if n not in before)
    updated = sorted(n for n in after if n in before and before[n] != after[n])
    deleted = sorted(n for n in before if n not in after)
    return created, updated, deleted


def _snake(key):
    return {"OKActions": "ok_actions"}.get(key) or "".join(
        "_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(key)
    )


def main():
    argument_spec = {
        "prefix": {"type": "str", "required": True},
        "alarms": {"type": "list", "elements": "dict", "default": []},
        "purge": {"type": "bool", "default": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    MetricAlarms(module).run()


if __name__ == "__main__":
    main()
