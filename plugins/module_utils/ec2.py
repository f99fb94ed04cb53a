# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2 helpers shared by the modules that converge many EC2 resources in one call."""

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.notejam.aws.plugins.module_utils.resource import tag_delta


def apply_ec2_tags(client, pending):
    """Close the tag differences of many EC2 resources with as few calls as possible.

    ``pending`` holds ``(resource id, tags before, tags after)``. EC2's CreateTags and DeleteTags
    take many resources at once, so resources that need the very same change share one call."""
    to_create, to_delete = {}, {}
    for resource_id, before, after in pending:
        to_set, to_unset = tag_delta(before, after)
        if to_set:
            to_create.setdefault(tuple(sorted(to_set.items())), []).append(resource_id)
        if to_unset:
            to_delete.setdefault(tuple(sorted(to_unset)), []).append(resource_id)
    for items, ids in to_create.items():
        client.create_tags(Resources=ids, Tags=ansible_dict_to_boto3_tag_list(dict(items)))
    for keys, ids in to_delete.items():
        client.delete_tags(Resources=ids, Tags=[{"Key": k} for k in keys])
