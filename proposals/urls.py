from django.urls import path

from proposals import views

app_name = "proposals"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.site_search, name="search"),
    path("letters/", views.letter_list, name="letter_list"),
    path("letters/<slug:slug>/", views.letter_detail, name="letter_detail"),
    path("proposals/", views.proposal_list, name="proposal_list"),
    path("proposals/<slug:slug>/", views.proposal_detail, name="proposal_detail"),
    path("decisions/", views.decision_list, name="decision_list"),
    path("decisions/<slug:slug>/", views.decision_detail, name="decision_detail"),
    path("timeline/", views.timeline, name="timeline"),
    path("charts/", views.charts_index, name="charts"),
    path("charts/objections/", views.chart_objections, name="chart_objections"),
    path("charts/objections.csv", views.chart_objections_csv, name="chart_objections_csv"),
    path("charts/co-objections/", views.chart_co_objections, name="chart_co_objections"),
    path(
        "charts/co-objections.csv",
        views.chart_co_objections_csv,
        name="chart_co_objections_csv",
    ),
    path("charts/removed-items/", views.chart_removed_items, name="chart_removed_items"),
    path(
        "charts/removed-items.csv",
        views.chart_removed_items_csv,
        name="chart_removed_items_csv",
    ),
]
