"""Application Auto Scaling: what moto 5.2.5 lacks or does differently, where the product relies on it.

Each patch names the AWS behaviour it restores; ``apply()`` is safe to call more than once.
"""

import json

from moto.applicationautoscaling import models as aas_models
from moto.applicationautoscaling import responses as aas_responses
from moto.core.exceptions import JsonRESTError

_PATCHED = "_notejam_patched"


class _ResourceNotFound(JsonRESTError):
    def __init__(self, arn):
        super().__init__("ResourceNotFoundException", f"No scalable target found for ARN {arn}")


def _tags_of(target):
    if not hasattr(target, "notejam_tags"):
        target.notejam_tags = {}
    return target.notejam_tags


def _target_by_arn(backend, arn):
    for by_resource in backend.targets.values():
        for target in by_resource.values():
            if target.arn == arn:
                return target
    raise _ResourceNotFound(arn)


def _register_scalable_target(self):
    """AWS RegisterScalableTarget takes ``Tags`` for a new target (moto ignores them)."""
    backend = self.applicationautoscaling_backend
    namespace, resource_id = self._get_param("ServiceNamespace"), self._get_param("ResourceId")
    dimension = self._get_param("ScalableDimension")
    existed = backend._scalable_target_exists(resource_id, dimension)
    body = _register_scalable_target.__wrapped__(self)
    tags = self._get_param("Tags")
    if tags and not existed:
        target = backend.describe_scalable_targets(namespace, [resource_id], dimension)[0]
        _tags_of(target).update(tags)
    return body


def _tag_resource(self):
    """AWS TagResource on a scalable target ARN (not implemented by moto)."""
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    _tags_of(target).update(self._get_param("Tags") or {})
    return json.dumps({})


def _untag_resource(self):
    """AWS UntagResource on a scalable target ARN (not implemented by moto)."""
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    for key in self._get_param("TagKeys") or []:
        _tags_of(target).pop(key, None)
    return json.dumps({})


def _list_tags_for_resource(self):
    """AWS ListTagsForResource on a scalable target ARN (not implemented by moto)."""
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    return json.dumps({"Tags": dict(_tags_of(target))})


def _deregister_scalable_target(self, namespace, r_id, dimension):
    """AWS DeregisterScalableTarget also deletes the target's scaling policies (and their alarms)
    and its scheduled actions; moto leaves them behind."""
    _deregister_scalable_target.__wrapped__(self, namespace, r_id, dimension)
    for key, policy in list(self.policies.items()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
            namespace,
            r_id,
            dimension,
        ):
            policy.delete_alarms(self.account_id, self.region_name)
            del self.policies[key]
    self.scheduled_actions = [
        a
        for a in self.scheduled_actions
        if (a.service_namespace, a.resource_id, a.scalable_dimension) != (namespace, r_id, dimension)
    ]


def _once(owner, name, replacement):
    current = getattr(owner, name, None)
    if current is not None and getattr(current, _PATCHED, False):
        return
    replacement.__wrapped__ = current
    setattr(replacement, _PATCHED, True)
    setattr(owner, name, replacement)


def apply():
    response = aas_responses.ApplicationAutoScalingResponse
    _once(response, "register_scalable_target", _register_scalable_target)
    _once(response, "tag_resource", _tag_resource)
    _once(response, "untag_resource", _untag_resource)
    _once(response, "list_tags_for_resource", _list_tags_for_resource)
    _once(aas_models.ApplicationAutoscalingBackend, "deregister_scalable_target", _deregister_scalable_target)
