from django.urls import path

from sources import views

app_name = "sources"
urlpatterns = [
    path("sources/", views.source_list, name="list"),
    path("sources/<slug:key>/", views.source_detail, name="detail"),
]
