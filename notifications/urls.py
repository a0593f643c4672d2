from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.my_subscriptions, name="mine"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/check-your-email/", views.check_email, name="check_email"),
    path("subscribe/done/", views.subscribed, name="subscribed"),
    path("confirm/<str:signed>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
