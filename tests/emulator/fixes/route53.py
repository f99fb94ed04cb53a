"""Route 53: make moto 5.2.5 behave as AWS where the route53 role relies on it.

- ChangeResourceRecordSets CREATE of a record set that was created once before, then deleted, is
  accepted when no record set of that name and type (and set identifier) exists. moto replays its
  journal of changes: an identical earlier CREATE made it look for any record set from that name
  and type onwards in sort order, so the zone's AAAA record of the same name made a re-created A
  alias "already exist" (amazon.aws.route53 then reports no change and the record stays missing).
"""

from moto.route53 import models


def _exists(zone, record_set) -> bool:
    name = record_set["Name"].rstrip(".").lower() + "."
    return any(
        rrset.name.rstrip(".").lower() + "." == name
        and rrset.type == record_set["Type"]
        and rrset.set_identifier == record_set.get("SetIdentifier")
        for rrset in zone.rrsets
    )


def apply():
    backend_cls = models.Route53Backend
    if getattr(backend_cls, "_notejam_fixed", False):
        return
    original = backend_cls.change_resource_record_sets

    def change_resource_record_sets(self, zoneid, change_list):
        zone = self.get_hosted_zone(zoneid)
        for change in change_list:
            if change["Action"] == "CREATE" and not _exists(zone, change["ResourceRecordSet"]):
                # Forget the journal's identical earlier CREATE: the record set is gone.
                while change in zone.rr_changes:
                    zone.rr_changes.remove(change)
        return original(self, zoneid, change_list)

    backend_cls.change_resource_record_sets = change_resource_record_sets
    backend_cls._notejam_fixed = True
