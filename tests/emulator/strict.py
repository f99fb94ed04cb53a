"""The emulator's strict mode: AWS's documented unkindness, which moto leaves out.

moto answers at once, never throttles and forgets nothing lingers. AWS does not, and code that
passes only against the kind version breaks on a first real run. With strict mode on (off by default;
``NOTEJAM_EMULATOR_STRICT=1`` turns it on) the harness in front of moto:

- throttles a steady, deterministic share of calls with each service's own error code;
- hides a new EC2 resource for its first seconds (describes leave it out, calls naming it answer
  that resource's ``NotFound`` code);
- refuses, for its first seconds, the calls that hand a new IAM role to a service;
- keeps a deleted load balancer's or ECS service's network interfaces in their subnets and
  security groups for a while (``DependencyViolation``);
- leaves ACM's DNS validation record out of DescribeCertificate for a few seconds;
- answers ``WAFUnavailableEntityException`` to an association with a new web ACL or load balancer.

Every delay is a base duration (close to what AWS shows) multiplied by
``NOTEJAM_EMULATOR_TIME_SCALE`` (a float > 0; tests use a small one, never zero). The rules and the
AWS pages they copy are listed in ``tests/emulator/README.md``; each is cited again below.

Environment read by the emulator server (all optional):

======================================  =====================================================
NOTEJAM_EMULATOR_STRICT                 "1" on, "0" (default) off
NOTEJAM_EMULATOR_TIME_SCALE             multiplies every emulated AWS delay (default 1.0)
NOTEJAM_EMULATOR_THROTTLE_EVERY         throttle every Nth call to each service (default 15;
                                        0: never)
NOTEJAM_EMULATOR_THROTTLE_BURST         how many calls in a row each throttle lasts (default 1)
======================================  =====================================================
"""

import json
import os
import re
import threading
import time
import uuid
from xml.etree import ElementTree

from tests.emulator.standins import service_model

STRICT_VARIABLE = "NOTEJAM_EMULATOR_STRICT"
SCALE_VARIABLE = "NOTEJAM_EMULATOR_TIME_SCALE"
THROTTLE_EVERY_VARIABLE = "NOTEJAM_EMULATOR_THROTTLE_EVERY"
THROTTLE_BURST_VARIABLE = "NOTEJAM_EMULATOR_THROTTLE_BURST"

# Base durations in seconds, before the time scale. AWS gives no figure for most of them ("a few
# seconds", "may take several minutes"); these are at the short end of what is seen, so a test at
# a small scale still exercises the retry and never waits long.
EC2_VISIBILITY_DELAY = 5.0
IAM_PROPAGATION_DELAY = 10.0
ENI_LINGER = 60.0
ACM_RECORD_DELAY = 5.0
WAF_ASSOCIATION_DELAY = 10.0
DEFAULT_THROTTLE_EVERY = 15
DEFAULT_THROTTLE_BURST = 1


def strict_enabled():
    """Whether strict mode is on: ``NOTEJAM_EMULATOR_STRICT`` is "1" or "0" (or unset)."""
    value = os.environ.get(STRICT_VARIABLE, "0").strip()
    if value not in ("0", "1"):
        raise ValueError(f"{STRICT_VARIABLE}={value!r} is not accepted; accepted: 1 (on), 0 (off)")
    return value == "1"


def time_scale():
    """``NOTEJAM_EMULATOR_TIME_SCALE`` as a float > 0 (default 1.0)."""
    raw = os.environ.get(SCALE_VARIABLE, "1").strip()
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"{SCALE_VARIABLE}={raw!r} is not accepted; accepted: a number greater than 0")
    return value


def scaled(seconds):
    """An emulated AWS delay of ``seconds``, multiplied by the time scale."""
    return seconds * time_scale()


def _count_setting(name, default):
    raw = os.environ.get(name, str(default)).strip()
    if not raw.isdigit():
        raise ValueError(f"{name}={raw!r} is not accepted; accepted: a whole number, 0 or more")
    return int(raw)


# --- errors in each protocol's own shape ---------------------------------------------------------
def error_response(service, code, message, status=400):
    """(status line, headers, body) of an AWS error ``code`` as ``service``'s protocol shapes it,
    so botocore parses the very code AWS sends; ``None`` for a protocol this does not render."""
    model = service_model(service)
    protocol = model.protocol if model is not None else "json"
    request_id = str(uuid.uuid4())
    reason = f"{status} {'Service Unavailable' if status == 503 else 'Error'}"
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif protocol == "ec2":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{_xml_text(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    elif protocol in ("query", "rest-xml"):
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{_xml_text(message)}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    else:
        return None
    headers.append(("x-amzn-RequestId", request_id))
    headers.append(("Content-Length", str(len(body))))
    return reason, headers, body


def _xml_text(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- throttling ----------------------------------------------------------------------------------
# Each service's documented throttling code and HTTP status:
# EC2: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html (RequestLimitExceeded,
#   "503 Service Unavailable" is what the SDKs see);
# IAM, STS, RDS, ELBv2: their API references' "Common Errors" (Throttling, 400);
# Route 53: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html#limits-api-requests
#   ("a Code element with a value of Throttling", HTTP 400);
# SNS: https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html and the model's
#   ThrottledException (code Throttled, HTTP 429);
# ECS, ACM, Application Auto Scaling, ECR, Backup, CloudWatch Logs, KMS, Secrets Manager, SSM,
#   WAFv2, CodeStar Connections, EventBridge: ThrottlingException, 400 (each API reference).
# S3 answers SlowDown with 503 (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
THROTTLING = {
    "ec2": ("RequestLimitExceeded", 503, "Request limit exceeded."),
    "iam": ("Throttling", 400, "Rate exceeded"),
    "sts": ("Throttling", 400, "Rate exceeded"),
    "rds": ("Throttling", 400, "Rate exceeded"),
    "elbv2": ("Throttling", 400, "Rate exceeded"),
    "route53": ("Throttling", 400, "Rate exceeded"),
    "sns": ("Throttled", 429, "Rate exceeded"),
    "s3": ("SlowDown", 503, "Please reduce your request rate."),
}
THROTTLING_EXCEPTION = ("ThrottlingException", 400, "Rate exceeded")
# Services answered in smithy-rpc-v2-cbor by this botocore (CloudWatch, CodeBuild, CodePipeline,
# Resource Groups Tagging): the harness does not render that protocol's errors, so they are not
# throttled here (see the README).


class Throttle:
    """Every ``every``-th call to a service starts a run of ``burst`` throttled calls."""

    def __init__(self, every, burst):
        self.every, self.burst = every, burst
        self._counts = {}
        self._lock = threading.Lock()

    def hit(self, service):
        if self.every <= 0 or self.burst <= 0:
            return False
        with self._lock:
            n = self._counts.get(service, 0) + 1
            self._counts[service] = n
        # Calls every, every+1, ..., every+burst-1 of each cycle of every+burst-1 calls.
        cycle = self.every + self.burst - 1
        return (n - 1) % cycle >= self.every - 1


# --- EC2 eventual consistency --------------------------------------------------------------------
# https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html: "if you run a command
# to modify or describe the resource that you just created, its ID might not have propagated
# throughout the system, and you will get an error responding that the resource does not exist".
# Create operation -> (element holding the new id, kind); kind -> (NotFound code, Describe
# operation, its result set element). Codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
EC2_CREATES = {
    "CreateVpc": ("vpcId", "vpc"),
    "CreateSubnet": ("subnetId", "subnet"),
    "CreateInternetGateway": ("internetGatewayId", "igw"),
    "CreateRouteTable": ("routeTableId", "rtb"),
    "AllocateAddress": ("allocationId", "eipalloc"),
    "CreateNatGateway": ("natGatewayId", "nat"),
    "CreateSecurityGroup": ("groupId", "sg"),
    "CreateVpcEndpoint": ("vpcEndpointId", "vpce"),
}
EC2_KINDS = {
    "vpc": ("InvalidVpcID.NotFound", "DescribeVpcs", "vpcSet", "vpcId"),
    "subnet": ("InvalidSubnetID.NotFound", "DescribeSubnets", "subnetSet", "subnetId"),
    "igw": (
        "InvalidInternetGatewayID.NotFound",
        "DescribeInternetGateways",
        "internetGatewaySet",
        "internetGatewayId",
    ),
    "rtb": ("InvalidRouteTableID.NotFound", "DescribeRouteTables", "routeTableSet", "routeTableId"),
    "eipalloc": ("InvalidAllocationID.NotFound", "DescribeAddresses", "addressesSet", "allocationId"),
    "nat": ("NatGatewayNotFound", "DescribeNatGateways", "natGatewaySet", "natGatewayId"),
    "sg": ("InvalidGroup.NotFound", "DescribeSecurityGroups", "securityGroupInfo", "groupId"),
    "vpce": ("InvalidVpcEndpointId.NotFound", "DescribeVpcEndpoints", "vpcEndpointSet", "vpcEndpointId"),
}
_EC2_DESCRIBES = {describe: kind for kind, (_c, describe, _s, _i) in EC2_KINDS.items()}

# --- IAM propagation -----------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
# ("changes ... take time to become visible"; a new role may not be assumable at once). Each entry:
# the operation that hands a role to a service, and the error that service answers when it cannot
# assume it (from each API reference's errors and the messages the services send):
IAM_ROLE_USERS = {
    # https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupSelection.html
    ("backup", "CreateBackupSelection"): ("InvalidParameterValueException", 400),
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html (the task
    # definition's roles, or those of the overrides)
    ("ecs", "RunTask"): ("InvalidParameterException", 400),
    # https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html
    ("codebuild", "CreateProject"): ("InvalidInputException", 400),
    ("codebuild", "UpdateProject"): ("InvalidInputException", 400),
    # https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_CreatePipeline.html
    ("codepipeline", "CreatePipeline"): ("InvalidStructureException", 400),
    ("codepipeline", "UpdatePipeline"): ("InvalidStructureException", 400),
}
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")

# --- lingering network interfaces ----------------------------------------------------------------
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html
# and https://repost.aws/knowledge-center/troubleshoot-dependency-error-delete-vpc: the network
# interfaces of a deleted load balancer or of stopped Fargate tasks are released some minutes later;
# until then DeleteSubnet, DeleteSecurityGroup and DetachInternetGateway answer DependencyViolation.

# --- ACM and WAF ---------------------------------------------------------------------------------
# https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html: the CNAME to create is
# shown once ACM has generated it; right after RequestCertificate DescribeCertificate has no
# ResourceRecord yet.
# https://docs.aws.amazon.com/waf/latest/APIReference/API_AssociateWebACL.html:
# WAFUnavailableEntityException, "AWS WAF couldn't retrieve a resource that you specified for this
# operation. ... If you've just created a resource that you're using in this operation, you might
# just need to wait a few minutes."


class Strict:
    """The strict behaviours: asked before a call (``refuse``) and after it (``observe``)."""

    def __init__(self):
        self.enabled = strict_enabled()
        self.scale = time_scale()
        self.throttle = Throttle(
            _count_setting(THROTTLE_EVERY_VARIABLE, DEFAULT_THROTTLE_EVERY),
            _count_setting(THROTTLE_BURST_VARIABLE, DEFAULT_THROTTLE_BURST),
        )
        self._lock = threading.Lock()
        self.fresh_ec2 = {}  # id -> (kind, visible at)
        self.fresh_roles = {}  # role ARN -> assumable at
        self.lingering = []  # (until, vpc id or None, subnet ids, group ids, what)
        self.fresh_certificates = {}  # certificate ARN -> record shown at
        self.fresh_waf = {}  # web ACL or load balancer ARN -> associable at

    def configure(self, settings):
        """Change settings of a running emulator (tests): ``enabled``, ``throttle_every``,
        ``throttle_burst``, ``time_scale``; the state of what was created is kept."""
        if "enabled" in settings:
            self.enabled = bool(settings["enabled"])
        if "time_scale" in settings:
            if not float(settings["time_scale"]) > 0:
                raise ValueError("time_scale must be greater than 0")
            self.scale = float(settings["time_scale"])
        if "throttle_every" in settings or "throttle_burst" in settings:
            self.throttle = Throttle(
                int(settings.get("throttle_every", self.throttle.every)),
                int(settings.get("throttle_burst", self.throttle.burst)),
            )
        return self.settings()

    def settings(self):
        return {
            "enabled": self.enabled,
            "time_scale": self.scale,
            "throttle_every": self.throttle.every,
            "throttle_burst": self.throttle.burst,
        }

    def _later(self, seconds):
        return time.monotonic() + seconds * self.scale

    # --- before the call -------------------------------------------------------------------------
    def refuse(self, call):
        """``(code, status, message)`` when strict AWS would refuse ``call``, else ``None``."""
        if not self.enabled:
            return None
        now = time.monotonic()
        if self.throttle.hit(call.service):
            code, status, message = THROTTLING.get(call.service, THROTTLING_EXCEPTION)
            if error_response(call.service, code, message, status) is not None:
                return code, status, message
        if call.service == "ec2":
            found = self._ec2_unseen(call, now) or self._ec2_dependency(call, now)
            if found:
                return found
        if (call.service, call.operation) in IAM_ROLE_USERS:
            found = self._role_not_ready(call, now)
            if found:
                return found
        if call.service == "wafv2" and call.operation == "AssociateWebACL":
            params = call.params()
            for arn in (params.get("WebACLArn"), params.get("ResourceArn")):
                if arn and self.fresh_waf.get(arn, 0) > now:
                    return (
                        "WAFUnavailableEntityException",
                        400,
                        "AWS WAF couldn't retrieve the resource that you requested. Retry your request.",
                    )
        return None

    def _ec2_unseen(self, call, now):
        for key, value in call.query.items():
            if key.startswith("Filter."):
                continue
            entry = self.fresh_ec2.get(value)
            if entry and entry[1] > now:
                code = EC2_KINDS[entry[0]][0]
                return code, 400, f"The {key.split('.')[0]} '{value}' does not exist"
        return None

    def _ec2_dependency(self, call, now):
        if call.operation not in ("DeleteSubnet", "DeleteSecurityGroup", "DetachInternetGateway"):
            return None
        for until, vpc_id, subnets, groups, what in self.lingering:
            if until <= now:
                continue
            if (
                call.query.get("SubnetId") in subnets
                or call.query.get("GroupId") in groups
                or (call.operation == "DetachInternetGateway" and call.query.get("VpcId") == vpc_id)
            ):
                return (
                    "DependencyViolation",
                    400,
                    f"The {call.operation[6:]} has dependencies and cannot be deleted or detached: "
                    f"network interfaces of {what} are still in use.",
                )
        return None

    def _role_not_ready(self, call, now):
        text = call.body.decode("utf-8", "replace") + json.dumps(call.query)
        roles = set(_ROLE_ARN.findall(text))
        if call.service == "ecs":
            roles.update(_task_definition_roles(call))
        for role in sorted(roles):
            if self.fresh_roles.get(role, 0) > now:
                code, status = IAM_ROLE_USERS[(call.service, call.operation)]
                return code, status, _role_refusal(call.service, role)
        return None

    # --- after the call --------------------------------------------------------------------------
    def before_moto(self, call):
        """Record what a delete is about to release (moto forgets it once deleted)."""
        if not self.enabled:
            return
        if call.service == "elbv2" and call.operation == "DeleteLoadBalancer":
            found = _load_balancer_network(call)
        elif call.service == "ecs" and call.operation == "DeleteService":
            found = _service_network(call)
        else:
            return
        if found:
            vpc_id, subnets, groups, what = found
            with self._lock:
                self.lingering.append((self._later(ENI_LINGER), vpc_id, subnets, groups, what))

    def observe(self, call, status, body):
        """Learn from a successful call; returns the body to send (possibly with fresh items hidden)."""
        if not self.enabled or not status.startswith("2"):
            return body
        now = time.monotonic()
        if call.service == "ec2":
            if call.operation in EC2_CREATES:
                element, kind = EC2_CREATES[call.operation]
                found = re.search(rf"<{element}>([^<]+)</{element}>".encode(), body)
                if found:
                    with self._lock:
                        self.fresh_ec2[found.group(1).decode()] = (kind, self._later(EC2_VISIBILITY_DELAY))
            elif call.operation in _EC2_DESCRIBES:
                return self._hide_fresh(_EC2_DESCRIBES[call.operation], body, now)
        elif call.service == "iam" and call.operation == "CreateRole":
            found = _ROLE_ARN.search(body.decode("utf-8", "replace"))
            if found:
                with self._lock:
                    self.fresh_roles[found.group(0)] = self._later(IAM_PROPAGATION_DELAY)
        elif call.service == "acm" and call.operation == "RequestCertificate":
            arn = json.loads(body).get("CertificateArn")
            self.fresh_certificates[arn] = self._later(ACM_RECORD_DELAY)
        elif call.service == "acm" and call.operation == "DescribeCertificate":
            return self._hide_record(call, body, now)
        elif call.service == "wafv2" and call.operation == "CreateWebACL":
            arn = json.loads(body).get("Summary", {}).get("ARN")
            self.fresh_waf[arn] = self._later(WAF_ASSOCIATION_DELAY)
        elif call.service == "elbv2" and call.operation == "CreateLoadBalancer":
            found = re.search(rb"<LoadBalancerArn>([^<]+)</LoadBalancerArn>", body)
            if found:
                self.fresh_waf[found.group(1).decode()] = self._later(WAF_ASSOCIATION_DELAY)
        return body

    def _hide_fresh(self, kind, body, now):
        hidden = {rid for rid, (k, until) in self.fresh_ec2.items() if k == kind and until > now}
        if not hidden:
            return body
        _code, _describe, set_name, id_name = EC2_KINDS[kind]
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            return body
        namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        found = root.find(f"{namespace}{set_name}")
        if found is None:
            return body
        for item in list(found):
            if item.findtext(f"{namespace}{id_name}") in hidden:
                found.remove(item)
        if namespace:
            ElementTree.register_namespace("", namespace.strip("{}"))
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    def _hide_record(self, call, body, now):
        arn = call.params().get("CertificateArn")
        if self.fresh_certificates.get(arn, 0) <= now:
            return body
        answer = json.loads(body)
        certificate = answer.get("Certificate", {})
        for option in certificate.get("DomainValidationOptions", []):
            option.pop("ResourceRecord", None)
            option["ValidationStatus"] = "PENDING_VALIDATION"
        if certificate.get("Status") == "ISSUED":
            certificate["Status"] = "PENDING_VALIDATION"
        return json.dumps(answer).encode()


def _role_refusal(service, role):
    """The message each service sends when it cannot assume ``role``, as AWS words it."""
    if service == "backup":
        # "InvalidParameterValueException: IAM Role <arn> cannot be assumed by AWS Backup", as
        # CreateBackupSelection answers for a role IAM has not propagated yet
        # (github.com/hashicorp/terraform-provider-aws/issues/9297, retried on in its backup selection).
        return f"IAM Role {role} cannot be assumed by AWS Backup"
    if service == "ecs":
        # As ECS words it in RunTask failures and service events
        # (github.com/aws-samples/aws-modern-application-workshop/issues/88).
        return (
            f"ECS was unable to assume the role '{role}' that was provided for this task. Please verify "
            "that the role being passed has the proper trust relationship and permissions and that your "
            "IAM user has permissions to pass this role."
        )
    name = {"codebuild": "CodeBuild"}.get(service, "CodePipeline")
    return f"{name} was unable to assume the role '{role}'"


# --- what moto's backends know about a call's resources ------------------------------------------
def _task_definition_roles(call):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends

    params = call.params()
    name = params.get("taskDefinition")
    if not name:
        return set()
    try:
        definition = ecs_backends[DEFAULT_ACCOUNT_ID][call.region].describe_task_definition(name)
    except Exception:  # noqa: BLE001 - an unknown definition is moto's error to answer
        return set()
    roles = (getattr(definition, "task_role_arn", None), getattr(definition, "execution_role_arn", None))
    return {r for r in roles if r}


def _load_balancer_network(call):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.elbv2.models import elbv2_backends

    arn = call.params().get("LoadBalancerArn")
    balancer = elbv2_backends[DEFAULT_ACCOUNT_ID][call.region].load_balancers.get(arn)
    if balancer is None:
        return None
    subnets = {getattr(s, "id", s) for s in balancer.subnets}
    return balancer.vpc_id, subnets, set(balancer.security_groups or []), f"load balancer {balancer.name}"


def _service_network(call):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2 import ec2_backends
    from moto.ecs.models import ecs_backends

    params = call.params()
    cluster = (params.get("cluster") or "default").split("/")[-1]
    name = params.get("service", "").split("/")[-1]
    service = ecs_backends[DEFAULT_ACCOUNT_ID][call.region].services.get(f"{cluster}:{name}")
    if service is None:
        return None
    network = (service.network_configuration or {}).get("awsvpcConfiguration") or {}
    subnets = set(network.get("subnets") or [])
    if not subnets:
        return None
    ec2 = ec2_backends[DEFAULT_ACCOUNT_ID][call.region]
    vpc_id = None
    try:
        vpc_id = ec2.get_subnet(sorted(subnets)[0]).vpc_id
    except Exception:  # noqa: BLE001 - a subnet already gone has no VPC to hold
        vpc_id = None
    groups = set(network.get("securityGroups") or [])
    return vpc_id, subnets, groups, f"ECS service {name}'s tasks"
