# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ECS modules share: ECS's lower-case tag lists and the tag calls that close a diff.

Why: ECS spells tags ``{"key", "value"}`` where most services use ``{"Key", "Value"}``, and tags
are changed with their own calls (TagResource/UntagResource) whatever the resource; every ECS
module would otherwise repeat both.
"""

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import tag_delta


def ecs_tags_to_dict(tags):
    """ECS's ``[{"key": k, "value": v}]`` as a dict."""
    return boto3_tag_list_to_ansible_dict(tags or [], "key", "value")


def dict_to_ecs_tags(tags):
    """A tag dict as ECS's ``[{"key": k, "value": v}]`` (``None`` when there are none)."""
    return ansible_dict_to_boto3_tag_list(tags, "key", "value") if tags else None


def apply_ecs_tags(client, arn, before, after):
    """Tag and untag ``arn`` so its tags go from ``before`` to ``after``; True when a call was made."""
    to_set, to_unset = tag_delta(before, after)
    if to_unset:
        client.untag_resource(resourceArn=arn, tagKeys=list(to_unset))
    if to_set:
        client.tag_resource(resourceArn=arn, tags=dict_to_ecs_tags(to_set))
    return bool(to_set or to_unset)


def arn_name(value):
    """The name at the end of an ARN (or the value itself when it is already a name)."""
    return value.split("/")[-1] if value else value


def capacity_provider_strategy(items):
    """A capacity provider strategy in a comparable shape: AWS's defaults (weight 0, base 0)
    filled in, sorted by provider; accepts AWS's camelCase or the modules' snake_case items.
    ``None`` stays ``None`` ("not specified")."""
    if items is None:
        return None
    return sorted(
        (
            {
                "capacityProvider": i.get("capacityProvider") or i.get("capacity_provider"),
                "weight": int(i.get("weight") or 0),
                "base": int(i.get("base") or 0),
            }
            for i in items
        ),
        key=lambda i: i["capacityProvider"],
    )
