#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: acm_certificate_request
short_description: Request a DNS-validated ACM certificate, once, and return its validation records
version_added: 0.1.0
description:
  - Ensures an AWS Certificate Manager public certificate, validated through DNS, exists for a domain
    (and optional alternative names), or that it is gone.
  - The certificate is found again by its domain, its alternative names, its key algorithm and its
    C(Name) tag (O(name)), among certificates that are not failed, expired, revoked or timed out; a
    re-run re-uses it instead of requesting another one. Only its tags can change in place.
  - Returns the CNAME records that prove control of each domain, to be put in the hosted zone; with
    O(wait=true) it then waits, bounded by O(wait_timeout), for the certificate to be issued.
  - C(community.aws.acm_certificate) only imports certificates; this module requests them.
author:
  - Notejam maintainers (@notejam)
options:
  name:
    description:
      - Identifies the certificate among those for the same domain; kept in its C(Name) tag.
    type: str
    required: true
  domain_name:
    description: Fully qualified domain name the certificate is for, e.g. C(dev.notejam.example.com).
    type: str
    required: true
  subject_alternative_names:
    description: Further names the certificate covers (order does not matter).
    type: list
    elements: str
    default: []
  key_algorithm:
    description: Algorithm of the certificate's key pair.
    type: str
    choices: [RSA_2048, EC_prime256v1, EC_secp384r1]
    default: RSA_2048
  state:
    description:
      - Whether the certificate should exist.
      - V(absent) deletes every certificate matching O(name) and O(domain_name).
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the certificate is C(ISSUED); fails if ACM marks it failed or the wait times out.
      - The validation records must already be in DNS for this to succeed.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait at most for the validation records to appear, and (with O(wait)) for issuance.
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Certificate for the environment's hostname
  notejam.aws.acm_certificate_request:
    name: notejam-dev-alb
    domain_name: dev.notejam.example.com
    tags:
      Project: notejam
      Environment: dev
      ManagedBy: ansible
  register: cert

- name: Validation records in the zone
  amazon.aws.route53:
    zone: notejam.example.com
    record: "{{ item.name }}"
    type: "{{ item.type }}"
    value: "{{ item.value }}"
    ttl: 300
    overwrite: true
    state: present
  loop: "{{ cert.validation_records }}"

- name: Wait (at most 10 minutes) until it is issued
  notejam.aws.acm_certificate_request:
    name: notejam-dev-alb
    domain_name: dev.notejam.example.com
    wait: true
    wait_timeout: 600
"""

RETURN = r"""
certificate:
  description:
    - The certificate as ACM describes it, with its tags. Empty when absent; in check mode before it
      exists, the predicted fields without an ARN.
  returned: always
  type: dict
  contains:
    certificate_arn:
      description: ARN to give the HTTPS listener.
      type: str
    domain_name:
      description: The certificate's domain.
      type: str
    subject_alternative_names:
      description: Every name the certificate covers, the domain included.
      type: list
      elements: str
    status:
      description: C(PENDING_VALIDATION), C(ISSUED), ...
      type: str
    in_use_by:
      description: ARNs of the resources (listeners) that use it.
      type: list
      elements: str
    tags:
      description: Tags of the certificate.
      type: dict
validation_records:
  description: One CNAME record per distinct validation name, to put in the hosted zone. Empty when absent.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Record name, fully qualified, with the trailing dot as ACM gives it.
      type: str
    type:
      description: Always C(CNAME).
      type: str
    value:
      description: Record value.
      type: str
    domain_name:
      description: Domain that the record validates.
      type: str
changes:
  description: Paths of the managed fields that differed.
  returned: always
  type: list
  elements: str
diff:
  description: Managed fields before and after.
  returned: always
  type: dict
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    AwsResource,
    client_token,
    paginate,
    snake,
    tag_delta,
    tags_after,
    wait_for,
)

# Certificates in these states can still be (or are) issued; the others are dead ends a re-run
# must not pick up again.
LIVE_STATUSES = ["PENDING_VALIDATION", "ISSUED", "INACTIVE"]
FAILED_STATUSES = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED")
# ListCertificates returns only RSA certificates unless told which key types to include.
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
_HOSTNAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}\.?$", re.IGNORECASE)


def validation_records(certificate):
    """The distinct CNAME records of a certificate's DNS validation (names can repeat across SANs)."""
    records, seen = [], set()
    for option in certificate.get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if not record or record["Name"] in seen:
            continue
        seen.add(record["Name"])
        records.append(
            {
                "name": record["Name"],
                "type": record["Type"],
                "value": record["Value"],
                "domain_name": option["DomainName"],
            }
        )
    return records


def records_ready(certificate):
    """ACM fills in the validation records some seconds after the request; True once every name has one."""
    options = certificate.get("DomainValidationOptions") or []
    return bool(options) and all(o.get("ResourceRecord") for o in options)


class AcmCertificate(AwsResource):
    service = "acm"
    result_key = "certificate"

    def validate(self):
        p = self.params
        for field, names in (
            ("domain_name", [p["domain_name"]]),
            ("subject_alternative_names", p["subject_alternative_names"]),
        ):
            for value in names:
                if not _HOSTNAME.match(value or "") or len(value) > 253:
                    self.module.fail_json(msg=f"{field}={value!r} is not a fully qualified domain name")
        if not 0 < p["wait_timeout"] <= 3600 * 72:
            self.module.fail_json(
                msg=f"wait_timeout={p['wait_timeout']} is out of range: accepted 1 to 259200 seconds"
            )

    def _names(self):
        p = self.params
        domain = p["domain_name"].lower().rstrip(".")
        return domain, sorted({domain} | {n.lower().rstrip(".") for n in p["subject_alternative_names"]})

    def _describe(self, arn):
        certificate = self.client.describe_certificate(CertificateArn=arn)["Certificate"]
        tags = self.client.list_tags_for_certificate(CertificateArn=arn).get("Tags", [])
        certificate["Tags"] = boto3_tag_list_to_ansible_dict(tags)
        return certificate

    def matches(self):
        """Every live certificate for this domain and alternative names, key algorithm and name."""
        domain, names = self._names()
        found = []
        summaries = paginate(
            self.client,
            "list_certificates",
            "CertificateSummaryList",
            CertificateStatuses=LIVE_STATUSES,
            Includes={"keyTypes": KEY_TYPES},
        )
        for summary in summaries:
            if summary.get("DomainName", "").lower() != domain:
                continue
            try:
                certificate = self._describe(summary["CertificateArn"])
            except is_boto3_error_code("ResourceNotFoundException"):
                continue  # deleted while we looked
            sans = sorted(
                {n.lower() for n in certificate.get("SubjectAlternativeNames") or [domain]} | {domain}
            )
            if (
                certificate.get("Tags", {}).get("Name") == self.params["name"]
                and sans == names
                and certificate.get("KeyAlgorithm", "RSA-2048").replace("-", "_")
                == self.params["key_algorithm"].replace("-", "_")
                and certificate.get("Type", "AMAZON_ISSUED") == "AMAZON_ISSUED"
            ):
                found.append(certificate)
        # The oldest one is the certificate; a second one can only come from an interrupted run.
        return sorted(found, key=lambda c: str(c.get("CreatedAt", "")))

    def read(self):
        found = self.matches()
        self.others = found[1:]
        return found[0] if found else None

    def comparable(self, raw):
        domain, names = self._names()
        return {"DomainName": domain, "SubjectAlternativeNames": names, "Tags": raw["Tags"]}

    def desired(self, before):
        domain, names = self._names()
        tags = (
            dict(self.params["tags"] or {}, Name=self.params["name"])
            if self.params["tags"] is not None
            else {"Name": self.params["name"]}
        )
        purge = self.params["purge_tags"] if self.params["tags"] is not None else False
        return {
            "DomainName": domain,
            "SubjectAlternativeNames": names,
            "Tags": tags_after((before or {}).get("Tags") or {}, tags, purge),
        }

    def create(self, after):
        domain, names = self._names()
        params = {
            "DomainName": domain,
            "ValidationMethod": "DNS",
            "KeyAlgorithm": self.params["key_algorithm"],
            # A retried request with the same token returns the first certificate.
            "IdempotencyToken": re.sub(r"\W", "", self.token)[:32],
            "Tags": ansible_dict_to_boto3_tag_list(after["Tags"]),
        }
        if names != [domain]:
            params["SubjectAlternativeNames"] = names
        self.created_arn = self.client.request_certificate(**params)["CertificateArn"]

    def update(self, before, after, changes):
        to_set, to_unset = tag_delta(before["Tags"], after["Tags"])
        arn = self.current_arn
        if to_unset:
            self.client.remove_tags_from_certificate(
                CertificateArn=arn, Tags=[{"Key": key} for key in to_unset]
            )
        if to_set:
            self.client.add_tags_to_certificate(
                CertificateArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set)
            )

    def delete(self, raw):
        for certificate in [raw, *self.others]:
            try:
                self.client.delete_certificate(CertificateArn=certificate["CertificateArn"])
            except is_boto3_error_code("ResourceInUseException"):
                self.module.fail_json(
                    msg=f"Certificate {certificate['CertificateArn']} ({certificate['DomainName']}) is "
                    f"still used by {', '.join(certificate.get('InUseBy') or []) or 'a load balancer'}; "
                    "remove its listener first"
                )
            except is_boto3_error_code("ResourceNotFoundException"):
                pass

    def plan(self):
        self.token = client_token()
        raw, before, after, changes = super().plan()
        self.current_arn = raw and raw["CertificateArn"]
        return raw, before, after, changes

    def apply(self, raw, before, after, changes):
        if after is None:
            self.delete(raw)
            return None
        if before is None:
            self.create(after)
            return self._describe(self.created_arn)
        self.update(before, after, changes)
        return self._describe(self.current_arn)

    def settle(self, raw, changed):
        arn = raw["CertificateArn"]
        timeout = self.params["wait_timeout"]

        def has_records():
            current = self._describe(arn)
            return records_ready(current), current

        certificate = (
            raw
            if records_ready(raw)
            else wait_for(self.module, f"the DNS validation records of {arn}", has_records, timeout)
        )
        if not self.params["wait"]:
            return certificate

        def issued():
            current = self._describe(arn)
            status = current.get("Status")
            if status in FAILED_STATUSES:
                self.module.fail_json(
                    msg=f"Certificate {arn} for {current['DomainName']} is {status}: "
                    f"{current.get('FailureReason', 'no reason given')}; "
                    "are the validation records in the zone?",
                    validation_records=validation_records(current),
                )
            return status == "ISSUED", status

        if certificate.get("Status") != "ISSUED":
            wait_for(self.module, f"certificate {arn} to be ISSUED", issued, timeout)
            certificate = self._describe(arn)
        return certificate

    def returned(self, raw):
        return snake(raw)

    def finish(self, raw, before, after, changes, **extra_result):
        changed = bool(changes)
        if self.module.check_mode:
            resource = (
                self.predicted(raw, after) if changed else (self.returned(raw) if raw is not None else {})
            )
            records = validation_records(raw) if raw is not None and after is not None else []
        else:
            raw = self.settle(raw, changed) if raw is not None else None
            resource = self.returned(raw) if raw is not None else {}
            records = validation_records(raw) if raw is not None else []
        self.module.exit_json(
            changed=changed,
            changes=changes,
            diff={"before": snake(before), "after": snake(after)},
            certificate=resource,
            validation_records=records,
            **extra_result,
        )


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "domain_name": {"type": "str", "required": True},
        "subject_alternative_names": {"type": "list", "elements": "str", "default": []},
        "key_algorithm": {
            "type": "str",
            "choices": ["RSA_2048", "EC_prime256v1", "EC_secp384r1"],
            "default": "RSA_2048",
        },
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "wait": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 600},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    AcmCertificate(module).run()


if __name__ == "__main__":
    main()
