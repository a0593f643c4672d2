from django.urls import path

from participants import views

app_name = "participants"
urlpatterns = [
    path("participants/", views.participant_list, name="list"),
    path("participants/<str:code>/", views.participant_detail, name="detail"),
    path("observers/<slug:code>/", views.observer_detail, name="observer"),
    path("people/<slug:slug>/", views.person_detail, name="person"),
]
