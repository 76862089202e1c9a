"""Public knowledge-platform URLs (no login)."""

from django.urls import path

from utfall.platform.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.index, name="index"),
    path("outcomes/", views.outcomes, name="outcomes"),
    path("open-data.json", views.download_all, {"fmt": "json"}, name="all_json"),
    path("open-data.csv", views.download_all, {"fmt": "csv"}, name="all_csv"),
    path("funds/<slug:identifier>.json", views.fund_download, name="fund_json"),
    path("<slug:identifier>/", views.detail, name="detail"),
    path("<slug:identifier>.json", views.download, {"fmt": "json"}, name="json"),
    path("<slug:identifier>.csv", views.download, {"fmt": "csv"}, name="csv"),
]
