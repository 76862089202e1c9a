"""Council URLs, under each contract."""

from django.urls import path

from utfall.platform.council import views

app_name = "council"

urlpatterns = [
    path("contracts/<slug:identifier>/council/", views.dashboard, name="dashboard"),
    path(
        "contracts/<slug:identifier>/council/progress/",
        views.dashboard_progress,
        name="dashboard_progress",
    ),
    path(
        "contracts/<slug:identifier>/council/dashboard.json",
        views.dashboard_json,
        name="dashboard_json",
    ),
    path(
        "contracts/<slug:identifier>/council/tables/<slug:table_id>.csv",
        views.table_download,
        name="table_csv",
    ),
    path("contracts/<slug:identifier>/council/meetings/", views.meetings, name="meetings"),
    path("contracts/<slug:identifier>/council/meetings/<int:pk>/", views.meeting, name="meeting"),
    path(
        "contracts/<slug:identifier>/council/meetings/<int:pk>/report.<str:fmt>",
        views.meeting_report,
        name="report",
    ),
    path(
        "contracts/<slug:identifier>/council/meetings/<int:pk>/report-progress/",
        views.report_progress,
        name="report_progress",
    ),
]
