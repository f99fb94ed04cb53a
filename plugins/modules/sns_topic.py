#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sns_topic
short_description: An SNS topic with its KMS key, access policy, subscriptions and tags
version_added: 0.3.0
description:
  - Creates, updates or deletes a standard SNS topic found by its name, with server-side encryption
    (C(KmsMasterKeyId)), an access policy, a display name, tags and the subscriptions asked for.
  - Why not M(community.aws.sns_topic) (10.0)? It cannot set the topic's KMS key, returns no diff, and
    decides a policy change with a comparison of its own; here the whole topic goes through the
    read/desire/diff cycle of this collection.
  - Subscriptions are identified by protocol and endpoint. An email or HTTPS endpoint stays
    C(PendingConfirmation) until its owner confirms it; a pending subscription counts as present (it
    is reported in RV(pending_confirmation), never subscribed again, which would send another mail),
    and AWS deletes it by itself after three days unconfirmed (it cannot be unsubscribed before).
  - With a customer managed key, every publisher needs C(kms:GenerateDataKey*) and C(kms:Decrypt) on
    it in the key policy (C(cloudwatch.amazonaws.com) for CloudWatch alarms,
    C(events.amazonaws.com) for EventBridge), or its messages are dropped; SNS does not check this
    when the key is set.
author:
  - notejam.aws maintainers (@notejam)
options:
  name:
    description: Name of the topic.
    type: str
    required: true
  kms_master_key_id:
    description:
      - KMS key (ARN, key id or C(alias/...)) that encrypts messages at rest. Left out, the current
        setting is kept; an empty string turns encryption off.
    type: str
  policy:
    description: The topic's access policy (a dict). Left out, the current policy is kept.
    type: json
  display_name:
    description: Name shown as the sender of email notifications. Left out, kept.
    type: str
  subscriptions:
    description: Endpoints that receive every message. Left out, the current ones are kept.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: C(email) (an address) or C(https) (a URL that confirms the subscription).
        type: str
        required: true
        choices: [email, https]
      endpoint:
        description: The address or URL.
        type: str
        required: true
  purge_subscriptions:
    description: Unsubscribe confirmed subscriptions that are not in O(subscriptions).
    type: bool
    default: true
  state:
    description: C(present) creates or updates; C(absent) unsubscribes and deletes the topic.
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
- name: Alarm topic, encrypted, mailed to the on-call list
  notejam.aws.sns_topic:
    name: notejam-prod-alarms
    kms_master_key_id: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    policy: "{{ lookup('template', 'topic_policy.json.j2') }}"
    subscriptions:
      - {protocol: email, endpoint: oncall@example.com}
    tags: {Project: notejam, Environment: prod, ManagedBy: ansible}
"""

RETURN = r"""
topic:
  description: The topic (empty when absent).
  returned: always
  type: dict
  contains:
    topic_arn:
      description: ARN of the topic.
      type: str
    kms_master_key_id:
      description: The key that encrypts it.
      type: str
    policy:
      description: The access policy.
      type: dict
    subscriptions:
      description: Protocol, endpoint and subscription ARN (C(PendingConfirmation) until confirmed).
      type: list
    tags:
      description: Tags of the topic.
      type: dict
pending_confirmation:
  description: Endpoints whose subscription waits for its owner's confirmation.
  returned: always
  type: list
  elements: str
changes:
  description: Dotted paths of the fields that differed.
  returned: always
  type: list
  elements: str
"""

import json  # noqa: E402
import re  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import (  # noqa: E402
    AwsResource,
    paginate,
    tag_delta,
    tags_after,
)

# An address as SNS takes it (one @, no spaces) and an https URL with a host.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$")
PENDING = "PendingConfirmation"


def _key(protocol, endpoint):
    # SNS keeps an email endpoint as given but delivers case-insensitively: compare in lower case.
    return f"{protocol}:{endpoint.lower() if protocol == 'email' else endpoint}"


class SnsTopic(AwsResource):
    service = "sns"
    result_key = "topic"

    def validate(self):
        p = self.params
        if p["state"] == "absent":
            return
        for index, sub in enumerate(p["subscriptions"] or []):
            pattern = _EMAIL if sub["protocol"] == "email" else _HTTPS
            if not pattern.match(sub["endpoint"] or ""):
                accepted = "an email address" if sub["protocol"] == "email" else "an https:// URL"
                self.module.fail_json(
                    msg=f"subscriptions[{index}].endpoint={sub['endpoint']!r} is not {accepted} "
                    f"(protocol {sub['protocol']})"
                )
        policy = p["policy"]
        if isinstance(policy, str):
            try:
                p["policy"] = json.loads(policy)
            except ValueError:
                self.module.fail_json(msg="policy is not a JSON document")

    def read(self):
        name = self.params["name"]
        arn = next(
            (
                t["TopicArn"]
                for t in paginate(self.client, "list_topics", "Topics")
                if t["TopicArn"].split(":")[-1] == name
            ),
            None,
        )
        if arn is None:
            self.current = None
            return None
        attributes = self.client.get_topic_attributes(TopicArn=arn)["Attributes"]
        tags = self.client.list_tags_for_resource(ResourceArn=arn).get("Tags") or []
        subscriptions = paginate(self.client, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn)
        self.current = {
            "TopicArn": arn,
            "Attributes": attributes,
            "Tags": {t["Key"]: t["Value"] for t in tags},
            "Subscriptions": [
                {
                    "Protocol": s["Protocol"],
                    "Endpoint": s["Endpoint"],
                    "SubscriptionArn": s["SubscriptionArn"],
                }
                for s in subscriptions
                if s.get("SubscriptionArn") != "Deleted"
            ],
        }
        return self.current

    def comparable(self, raw):
        attributes = raw["Attributes"]
        return {
            "KmsMasterKeyId": attributes.get("KmsMasterKeyId") or "",
            "Policy": json.loads(attributes["Policy"]) if attributes.get("Policy") else {},
            "DisplayName": attributes.get("DisplayName") or "",
            "Subscriptions": sorted(_key(s["Protocol"], s["Endpoint"]) for s in raw["Subscriptions"]),
            "Tags": raw["Tags"],
        }

    def desired(self, before):
        p = self.params
        policy = p["policy"]
        if policy is not None and before is not None and not compare_policies(before["Policy"], policy):
            policy = before["Policy"]  # the same policy as AWS echoes it (order, single values)
        subscriptions = None
        if p["subscriptions"] is not None:
            wanted = {_key(s["protocol"], s["endpoint"]) for s in p["subscriptions"]}
            current = set((before or {}).get("Subscriptions") or [])
            if p["purge_subscriptions"]:
                # Pending ones cannot be unsubscribed; AWS drops them after three days.
                wanted |= {k for k in current if k in self._pending_keys()}
            else:
                wanted |= current
            subscriptions = sorted(wanted)
        return {
            "KmsMasterKeyId": p["kms_master_key_id"],
            "Policy": policy,
            "DisplayName": p["display_name"],
            "Subscriptions": subscriptions,
            "Tags": tags_after((before or {}).get("Tags"), p["tags"], p["purge_tags"]),
        }

    def created_defaults(self):
        return {"KmsMasterKeyId": "", "Policy": {}, "DisplayName": "", "Subscriptions": [], "Tags": {}}

    def _pending_keys(self):
        subs = (self.current or {}).get("Subscriptions") or []
        return {_key(s["Protocol"], s["Endpoint"]) for s in subs if s["SubscriptionArn"] == PENDING}

    # --- apply --------------------------------------------------------------------------------
    def create(self, after):
        attributes = {
            "KmsMasterKeyId": after["KmsMasterKeyId"],
            "Policy": json.dumps(after["Policy"]) if after["Policy"] else None,
            "DisplayName": after["DisplayName"],
        }
        params = {"Name": self.params["name"], "Attributes": {k: v for k, v in attributes.items() if v}}
        if after["Tags"]:
            params["Tags"] = [{"Key": k, "Value": v} for k, v in after["Tags"].items()]
        arn = self.client.create_topic(**params)["TopicArn"]
        self._subscribe(arn, [], after["Subscriptions"])

    def update(self, before, after, changes):
        arn = self.current["TopicArn"]
        for name in ("KmsMasterKeyId", "DisplayName", "Policy"):
            if before[name] != after[name]:
                value = json.dumps(after[name]) if name == "Policy" else after[name]
                self.client.set_topic_attributes(TopicArn=arn, AttributeName=name, AttributeValue=value)
        if before["Tags"] != after["Tags"]:
            to_set, to_unset = tag_delta(before["Tags"], after["Tags"])
            if to_unset:
                self.client.untag_resource(ResourceArn=arn, TagKeys=list(to_unset))
            if to_set:
                self.client.tag_resource(
                    ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in to_set.items()]
                )
        self._subscribe(arn, before["Subscriptions"], after["Subscriptions"])

    def _subscribe(self, arn, current, wanted):
        for key in sorted(set(wanted) - set(current)):
            protocol, endpoint = key.split(":", 1)
            original = next(
                (
                    s["endpoint"]
                    for s in self.params["subscriptions"] or []
                    if _key(s["protocol"], s["endpoint"]) == key
                ),
                endpoint,
            )
            self.client.subscribe(TopicArn=arn, Protocol=protocol, Endpoint=original)
        for sub in (self.current or {}).get("Subscriptions") or []:
            key = _key(sub["Protocol"], sub["Endpoint"])
            if key in current and key not in wanted and sub["SubscriptionArn"] != PENDING:
                self.client.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])

    def delete(self, raw):
        for sub in raw["Subscriptions"]:
            if sub["SubscriptionArn"] != PENDING:
                self.client.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
        self.client.delete_topic(TopicArn=raw["TopicArn"])

    def returned(self, raw):
        attributes = raw["Attributes"]
        return {
            "topic_arn": raw["TopicArn"],
            "kms_master_key_id": attributes.get("KmsMasterKeyId") or "",
            "display_name": attributes.get("DisplayName") or "",
            "policy": json.loads(attributes["Policy"]) if attributes.get("Policy") else {},
            "subscriptions": [
                {
                    "protocol": s["Protocol"],
                    "endpoint": s["Endpoint"],
                    "subscription_arn": s["SubscriptionArn"],
                }
                for s in raw["Subscriptions"]
            ],
            "tags": raw["Tags"],
        }

    def predicted(self, raw, after):
        if after is None:
            return {}
        current = self.returned(raw) if raw is not None else {}
        return dict(
            current,
            kms_master_key_id=after["KmsMasterKeyId"],
            display_name=after["DisplayName"],
            policy=after["Policy"],
            tags=after["Tags"],
        )

    def finish(self, raw, before, after, changes, **extra_result):
        subs = (raw or {}).get("Subscriptions") or []
        pending = sorted(s["Endpoint"] for s in subs if s["SubscriptionArn"] == PENDING)
        super().finish(raw, before, after, changes, pending_confirmation=pending, **extra_result)


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "kms_master_key_id": {"type": "str", "no_log": False},
        "policy": {"type": "json"},
        "display_name": {"type": "str"},
        "subscriptions": {
            "type": "list",
            "elements": "dict",
            "options": {
                "protocol": {"type": "str", "required": True, "choices": ["email", "https"]},
                "endpoint": {"type": "str", "required": True},
            },
        },
        "purge_subscriptions": {"type": "bool", "default": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    SnsTopic(module).run()


if __name__ == "__main__":
    main()
