"""WAFv2: stand in for what moto 5.2.5 lacks, where the alb role relies on it.

- ListResourcesForWebACL (moto: NotImplementedError, HTTP 500) answers, as AWS does, the ARNs of
  the resources associated with the web ACL (moto already records them on AssociateWebACL), filtered
  by ``ResourceType`` (``APPLICATION_LOAD_BALANCER`` when not given); an unknown ACL is
  WAFNonexistentItemException. community.aws.wafv2_resources calls it to decide whether to associate.
"""

from moto.core import DEFAULT_ACCOUNT_ID
from moto.wafv2 import models as wafv2_models

from tests.emulator.standins import StandinError

# ARN service part of each ResourceType ListResourcesForWebACL accepts.
_RESOURCE_TYPES = {
    "APPLICATION_LOAD_BALANCER": ":elasticloadbalancing:",
    "API_GATEWAY": ":apigateway:",
    "APPSYNC": ":appsync:",
    "COGNITO_USER_POOL": ":cognito-idp:",
    "APP_RUNNER_SERVICE": ":apprunner:",
    "VERIFIED_ACCESS_INSTANCE": ":ec2:",
    "AMPLIFY": ":amplify:",
}


def list_resources_for_web_acl(call):
    params = call.params()
    backend = wafv2_models.wafv2_backends[DEFAULT_ACCOUNT_ID][call.region]
    web_acl = backend.wacls.get(params.get("WebACLArn", ""))
    if web_acl is None:
        raise StandinError(
            "WAFNonexistentItemException",
            "AWS WAF couldn't perform the operation because your resource doesn't exist.",
        )
    marker = _RESOURCE_TYPES.get(params.get("ResourceType") or "APPLICATION_LOAD_BALANCER", "")
    return 200, {"ResourceArns": [arn for arn in web_acl.associated_resources if marker in arn]}


STANDINS = {
    ("wafv2", "ListResourcesForWebACL"): list_resources_for_web_acl,
}


def apply():
    """Nothing to patch: the stand-in above serves the missing operation."""
