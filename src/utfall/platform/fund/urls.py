"""Fund pages (fund administrators; applicants see their own applications)."""

from django.urls import path

from utfall.platform.fund import views

app_name = "fund"

urlpatterns = [
    path("", views.index, name="index"),
    path("indicators/", views.indicators, name="indicators"),
    path("<int:fund_id>/", views.dashboard, name="dashboard"),
    path("calls/<int:call_id>/", views.call_detail, name="call"),
    path("calls/<int:call_id>/apply/", views.apply, name="apply"),
    path("applications/<int:application_id>/", views.application_detail, name="application"),
    path(
        "constellations/<int:constellation_id>/", views.constellation_detail, name="constellation"
    ),
]
