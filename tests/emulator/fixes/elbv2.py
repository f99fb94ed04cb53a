"""ELBv2: make moto 5.2.5 report what AWS reports, where the alb role relies on it.

- DescribeLoadBalancerAttributes of a new Application Load Balancer lists every attribute with
  its default, as AWS does (access logs off, idle timeout 60 s, HTTP/2 on, invalid header fields
  kept, desync mitigation ``defensive``, ...). moto returns only five of them, so a module that
  compares attributes (amazon.aws.elb_application_lb) fails on the missing keys or sees a change
  on every run. Values set through ModifyLoadBalancerAttributes still win.
"""

from moto.elbv2 import models

# What AWS returns for an ALB nobody has modified (Elastic Load Balancing API reference,
# LoadBalancerAttribute; observed on eu-west-1).
ALB_DEFAULT_ATTRIBUTES = {
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "",
    "access_logs.s3.prefix": "",
    "connection_logs.s3.enabled": "false",
    "connection_logs.s3.bucket": "",
    "connection_logs.s3.prefix": "",
    "client_keep_alive.seconds": "3600",
    "deletion_protection.enabled": "false",
    "idle_timeout.timeout_seconds": "60",
    "load_balancing.cross_zone.enabled": "true",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true",
    "waf.fail_open.enabled": "false",
    "zonal_shift.config.enabled": "false",
}


def apply():
    cls = models.FakeLoadBalancer
    if getattr(cls, "_notejam_fixed", False):
        return
    original_init = cls.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if self.type == "application":
            self.attrs = dict(ALB_DEFAULT_ATTRIBUTES, **self.attrs)
            self.attrs["load_balancing.cross_zone.enabled"] = "true"  # always on for ALBs

    cls.__init__ = __init__
    cls._notejam_fixed = True
