"""WAFv2: stand in for what moto 5.2.5 lacks, and refuse what AWS refuses, where the alb role relies on it.

- ListResourcesForWebACL (moto: NotImplementedError, HTTP 500) answers, as AWS does, the ARNs of
  the resources associated with the web ACL (moto already records them on AssociateWebACL), filtered
  by ``ResourceType`` (``APPLICATION_LOAD_BALANCER`` when not given); an unknown ACL is
  WAFNonexistentItemException. community.aws.wafv2_resources calls it to decide whether to associate.
- CreateWebACL and UpdateWebACL check the rules as AWS does (moto stores any rule it is sent) and
  answer WAFInvalidParameterException, for the constraints the AWS WAF API Reference documents on
  the statements the alb role sends (each check names its page below). Nothing else is checked, so
  the emulator is never stricter than AWS; it still accepts more than AWS does (regular expression
  syntax, capacity in WCU, managed rule group names and versions are not checked).
"""

import inspect

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
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


class WAFInvalidParameterException(JsonRESTError):
    code = 400

    def __init__(self, field, detail):
        super().__init__(
            "WAFInvalidParameterException",
            "The operation failed because AWS WAF didn't recognize a parameter in the request: "
            f"{field}: {detail}",
        )


# Statements that reference a rule group: their rule takes OverrideAction, every other rule Action
# (API Reference, Rule: "You must specify either this Action setting or the rule OverrideAction
# setting, but not both"; OverrideAction: "only for rule statements that reference a rule group").
_GROUP_REFERENCES = ("ManagedRuleGroupStatement", "RuleGroupReferenceStatement")
# Statements that can only be a rule's top statement (API Reference, Statement and
# RateBasedStatement/ManagedRuleGroupStatement/RuleGroupReferenceStatement: "You cannot nest ...
# for example for use inside a NotStatement or OrStatement").
_TOP_ONLY = ("RateBasedStatement", *_GROUP_REFERENCES)
# API Reference, RateBasedStatement: Limit "Valid Range: Minimum value of 10. Maximum value of
# 2000000000"; EvaluationWindowSec "Valid settings are 60, 120, 300, and 600".
_RATE_LIMITS = (10, 2_000_000_000)
_RATE_WINDOWS = (60, 120, 300, 600)
# API Reference, LabelMatchStatement: Scope "LABEL | NAMESPACE", Key "Length Constraints: Minimum
# length of 1. Maximum length of 1024"; RegexMatchStatement: RegexString 1 to 512 characters.
_LABEL_SCOPES = ("LABEL", "NAMESPACE")
_KEY_MAX = 1024
_REGEX_MAX = 512


def _check_statement(statement, where, top):
    """Raise WAFInvalidParameterException for the first documented constraint ``statement`` breaks."""
    kinds = list(statement)
    if len(kinds) != 1:
        raise WAFInvalidParameterException(where, f"a statement has exactly one type, found {kinds}")
    kind = kinds[0]
    body = statement[kind]
    if kind in _TOP_ONLY and not top:
        raise WAFInvalidParameterException(where, f"{kind} cannot be nested")
    if kind == "RateBasedStatement":
        limit = body.get("Limit")
        if not isinstance(limit, int) or not _RATE_LIMITS[0] <= limit <= _RATE_LIMITS[1]:
            raise WAFInvalidParameterException(f"{where}.Limit", f"{limit} is outside 10 to 2000000000")
        window = body.get("EvaluationWindowSec", 300)
        if window not in _RATE_WINDOWS:
            raise WAFInvalidParameterException(
                f"{where}.EvaluationWindowSec", f"{window} is not 60, 120, 300 or 600"
            )
        if "ScopeDownStatement" in body:
            _check_statement(body["ScopeDownStatement"], f"{where}.ScopeDownStatement", top=False)
    elif kind in ("AndStatement", "OrStatement"):
        for n, inner in enumerate(body.get("Statements", [])):
            _check_statement(inner, f"{where}.{kind}.Statements[{n}]", top=False)
    elif kind == "NotStatement":
        _check_statement(body.get("Statement", {}), f"{where}.NotStatement.Statement", top=False)
    elif kind == "LabelMatchStatement":
        if body.get("Scope") not in _LABEL_SCOPES:
            raise WAFInvalidParameterException(
                f"{where}.Scope", f"{body.get('Scope')} is not LABEL or NAMESPACE"
            )
        if not 1 <= len(body.get("Key", "")) <= _KEY_MAX:
            raise WAFInvalidParameterException(f"{where}.Key", "must be 1 to 1024 characters")
    elif kind == "RegexMatchStatement":
        if not 1 <= len(body.get("RegexString", "")) <= _REGEX_MAX:
            raise WAFInvalidParameterException(f"{where}.RegexString", "must be 1 to 512 characters")
    elif kind == "ManagedRuleGroupStatement" and "ScopeDownStatement" in body:
        _check_statement(body["ScopeDownStatement"], f"{where}.ScopeDownStatement", top=False)


def check_rules(rules):
    """The web ACL rules AWS refuses: the checks above, and Action/OverrideAction per statement kind."""
    for n, rule in enumerate(rules or []):
        where = f"Rules[{n}]"
        statement = rule.get("Statement", {})
        references_group = any(kind in statement for kind in _GROUP_REFERENCES)
        if references_group and ("Action" in rule or "OverrideAction" not in rule):
            raise WAFInvalidParameterException(
                f"{where}.OverrideAction",
                "a rule that references a rule group takes OverrideAction, not Action",
            )
        if not references_group and ("OverrideAction" in rule or "Action" not in rule):
            raise WAFInvalidParameterException(
                f"{where}.Action",
                "a rule that does not reference a rule group takes Action, not OverrideAction",
            )
        _check_statement(statement, f"{where}.Statement", top=True)


def apply():
    """Check the rules of CreateWebACL and UpdateWebACL before moto stores them."""
    cls = wafv2_models.WAFV2Backend
    if getattr(cls, "_notejam_fixed", False):
        return
    original_create, original_update = cls.create_web_acl, cls.update_web_acl

    def rules_of(original, self, args, kwargs):
        return inspect.signature(original).bind(self, *args, **kwargs).arguments.get("rules")

    def create_web_acl(self, *args, **kwargs):
        check_rules(rules_of(original_create, self, args, kwargs))
        return original_create(self, *args, **kwargs)

    def update_web_acl(self, *args, **kwargs):
        check_rules(rules_of(original_update, self, args, kwargs))
        return original_update(self, *args, **kwargs)

    cls.create_web_acl, cls.update_web_acl = create_web_acl, update_web_acl
    cls._notejam_fixed = True
