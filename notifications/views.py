"""Subscribe, confirm and unsubscribe pages. Confirming and unsubscribing happen on POST only,
so that mail scanners that open every link change nothing; the unsubscribe POST also serves
mail clients' one-click unsubscribe (RFC 8058), which carries no CSRF token."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications import services
from notifications.forms import SubscribeForm
from notifications.models import Subscription, Target

SECTION = "notifications"


@require_http_methods(["GET", "POST"])
def subscribe(request):
    # Queries: the followed row (one), then on POST the subscription's lookup and write.
    user = request.user if request.user.is_authenticated else None
    if request.method == "POST":
        form = SubscribeForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            services.subscribe(
                target=data["target"],
                cadence=data["cadence"],
                user=user,
                email=data.get("email", ""),
                **form.followed,
            )
            return redirect("notifications:subscribed" if user else "notifications:check_email")
    else:
        initial = {"target": Target.ALL}
        for field in ("meeting", "participant", "proposal"):
            if request.GET.get(field):
                initial = {"target": field, field: request.GET[field]}
        form = SubscribeForm(initial=initial, user=user)
    followed = _followed_label(form)
    return render(
        request,
        "notifications/subscribe.html",
        {"section": SECTION, "form": form, "followed": followed},
    )


def _followed_label(form: SubscribeForm) -> str:
    data = form.data if form.is_bound else form.initial
    target = data.get("target", Target.ALL)
    for field in ("meeting", "participant", "proposal"):
        if target == field:
            return f"the {field} {data.get(field, '')}"
    return "everything in the record"


def check_email(request):
    return render(request, "notifications/check_email.html", {"section": SECTION})


def subscribed(request):
    return render(request, "notifications/subscribed.html", {"section": SECTION})


@require_http_methods(["GET", "POST"])
def confirm(request, signed: str):
    subscription = services.subscription_from_confirmation(signed)
    if subscription is None:
        return render(
            request, "notifications/confirm.html", {"section": SECTION, "invalid": True}, status=404
        )
    if request.method == "POST":
        services.confirm(subscription=subscription)
        return render(
            request,
            "notifications/confirm.html",
            {"section": SECTION, "subscription": subscription, "done": True},
        )
    return render(
        request, "notifications/confirm.html", {"section": SECTION, "subscription": subscription}
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    subscription = (
        Subscription.objects.select_related("meeting", "participant", "proposal", "user")
        .filter(token=token)
        .first()
    )
    if subscription is None:
        raise Http404("No subscription has that link; it may have been replaced.")
    done = subscription.unsubscribed_at is not None
    if request.method == "POST":
        services.unsubscribe(subscription=subscription)
        done = True
    return render(
        request,
        "notifications/unsubscribe.html",
        {"section": SECTION, "subscription": subscription, "done": done},
    )


@login_required
def my_subscriptions(request):
    # Queries: the user's subscriptions with what they follow joined (one).
    subscriptions = (
        Subscription.objects.filter(user=request.user, unsubscribed_at__isnull=True)
        .select_related("meeting", "participant", "proposal")
        .order_by("-created")
    )
    return render(
        request,
        "notifications/subscriptions.html",
        {"section": SECTION, "subscriptions": subscriptions},
    )
