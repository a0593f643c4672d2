"""Subscriptions, webhook endpoints, the event outbox and deliveries, for the Secretariat.

Events and deliveries are records of what happened and are read-only here; the one thing to do
with a delivery is to retry it (failed ones are listed first by the status filter).
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.models import Delivery, Event, Subscription, WebhookEndpoint


class FollowingAdmin(admin.ModelAdmin):
    list_filter = ["target"]
    autocomplete_fields = ["meeting", "participant", "proposal"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("meeting", "participant", "proposal")

    @admin.display(description="Following")
    def followed(self, obj) -> str:
        return obj.followed


@admin.register(Subscription)
class SubscriptionAdmin(FollowingAdmin):
    list_display = ["__str__", "followed", "cadence", "confirmed_at", "unsubscribed_at", "created"]
    list_filter = ["target", "cadence", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "user__email", "user__username"]
    autocomplete_fields = [*FollowingAdmin.autocomplete_fields, "user"]
    readonly_fields = ["created"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(FollowingAdmin):
    list_display = ["__str__", "url", "followed", "active", "disabled_reason", "created_by"]
    list_filter = ["active", "target"]
    search_fields = ["url", "description"]
    readonly_fields = ["created_by", "created", "disabled_at", "disabled_reason"]
    fields = [
        "url",
        "description",
        "target",
        "meeting",
        "participant",
        "proposal",
        "secret",
        "active",
        "disabled_at",
        "disabled_reason",
        "created_by",
        "created",
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"  # receivers are reached over TLS by default
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        if obj.active:  # turned on again by an editor after a 410
            obj.disabled_at, obj.disabled_reason = None, ""
        super().save_model(request, obj, form, change)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "created", "fanned_out_at"]
    list_filter = ["kind", ("fanned_out_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "created"
    search_fields = ["payload"]
    readonly_fields = [field.name for field in Event._meta.fields] + ["participants"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "uid",
        "status",
        "channel",
        "recipient",
        "what",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error_short",
    ]
    list_filter = ["status", ("endpoint", admin.EmptyFieldListFilter)]
    search_fields = ["=uid", "subscription__email", "endpoint__url"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["retry"]
    list_select_related = ["event", "subscription__user", "endpoint"]

    @admin.display(description="To")
    def recipient(self, obj: Delivery) -> str:
        return obj.endpoint.url if obj.endpoint_id else obj.subscription.address

    @admin.display(description="What")
    def what(self, obj: Delivery) -> str:
        return str(obj.event) if obj.event_id else f"Digest of {obj.digest_day}"

    @admin.display(description="Last error")
    def last_error_short(self, obj: Delivery) -> str:
        return obj.last_error[:80]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_delivery")

    @admin.action(description="Retry the selected deliveries", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = services.retry_deliveries(deliveries=queryset)
        skipped = queryset.count() - count
        self.message_user(
            request,
            f"{count} deliveries queued to be sent again"
            + (f"; {skipped} sent or gone ones left alone." if skipped else "."),
            messages.SUCCESS,
        )
