"""KMS: make moto 5.2.5 behave as AWS where the data tier relies on it.

- ScheduleKeyDeletion, CancelKeyDeletion and EnableKey accept a key ARN as ``KeyId`` (as every KMS call
  does); moto looked the value up as a bare key id and failed with HTTP 500 for an ARN
  (amazon.aws.kms_key passes ARNs, e.g. when it revives a key pending deletion).
"""

from moto.kms import models


def apply():
    backend_cls = models.KmsBackend
    if getattr(backend_cls, "_notejam_fixed", False):
        return
    original = backend_cls.schedule_key_deletion

    def schedule_key_deletion(self, key_id, pending_window_in_days):
        return original(self, self.any_id_to_key_id(key_id), pending_window_in_days)

    original_cancel = backend_cls.cancel_key_deletion

    def cancel_key_deletion(self, key_id):
        return original_cancel(self, self.any_id_to_key_id(key_id))

    original_enable = backend_cls.enable_key

    def enable_key(self, key_id):
        return original_enable(self, self.any_id_to_key_id(key_id))

    backend_cls.schedule_key_deletion = schedule_key_deletion
    backend_cls.enable_key = enable_key
    backend_cls.cancel_key_deletion = cancel_key_deletion
    backend_cls._notejam_fixed = True
