"""SNS: subscriptions that need their owner's confirmation stay pending, as on AWS.

moto 5.2.5 confirms every subscription at once. On AWS an ``email``, ``email-json``, ``http`` or
``https`` subscription waits for its owner to follow the link AWS sends
(https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html): until then
ListSubscriptionsByTopic and ListSubscriptions report its ``SubscriptionArn`` as
``PendingConfirmation``, Subscribe answers ``pending confirmation`` unless ``ReturnSubscriptionArn``
is true (https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html), and it cannot be
unsubscribed by that placeholder. ``confirm_all()`` plays the owners who click the link
(``POST /_harness/sns/confirm-subscriptions``).
"""

from moto.sns import models, responses

NEEDS_CONFIRMATION = ("email", "email-json", "http", "https")


def _pending(subscription):
    return subscription.protocol in NEEDS_CONFIRMATION and not getattr(
        subscription, "_notejam_confirmed", False
    )


class _Listed:
    """A subscription as the List* calls show it: the placeholder ARN while pending."""

    def __init__(self, subscription):
        self.SubscriptionArn = "PendingConfirmation" if _pending(subscription) else subscription.arn
        self.Owner = subscription.owner
        self.Protocol = subscription.protocol
        self.Endpoint = subscription.endpoint
        self.TopicArn = subscription.topic.arn


def confirm_all():
    """Confirm every pending subscription in every account and region; returns how many."""
    count = 0
    for account in models.sns_backends.values():
        for backend in account.values():
            for subscription in backend.subscriptions.values():
                if _pending(subscription):
                    subscription._notejam_confirmed = True
                    count += 1
    return count


def apply():
    cls = responses.SNSResponse
    if getattr(cls, "_notejam_fixed", False):
        return
    original_subscribe = cls.subscribe
    original_list = cls.list_subscriptions
    original_by_topic = cls.list_subscriptions_by_topic

    def subscribe(self):
        result = original_subscribe(self)
        wants_arn = str(self._get_param("ReturnSubscriptionArn") or "").lower() == "true"
        arn = result.result["SubscriptionArn"]
        subscription = self.backend.subscriptions.get(arn)
        if subscription is not None and _pending(subscription) and not wants_arn:
            result.result["SubscriptionArn"] = "pending confirmation"
        return result

    def listed(original):
        def handler(self):
            result = original(self)
            result.result["Subscriptions"] = [_Listed(s) for s in result.result["Subscriptions"]]
            return result

        return handler

    backend_cls = models.SNSBackend
    original_unsubscribe = backend_cls.unsubscribe

    def unsubscribe(self, subscription_arn):
        if subscription_arn == "PendingConfirmation":
            raise models.SNSInvalidParameter(
                "Invalid parameter: SubscriptionArn Reason: not a subscription ARN"
            )
        return original_unsubscribe(self, subscription_arn)

    cls.subscribe = subscribe
    cls.list_subscriptions = listed(original_list)
    cls.list_subscriptions_by_topic = listed(original_by_topic)
    backend_cls.unsubscribe = unsubscribe
    cls._notejam_fixed = True
