"""Fund pages (fund administrators; applicants see their own applications)."""

from django.urls import path

from utfall.platform.fund import views

app_name = "fund"

urlpatterns = [
    path("", views.index, name="index"),
    path("indicators/", views.indicators, name="indicators"),
    path("<int:fund_id>/", views.dashboard, name="dashboard"),
    path("<int:fund_id>/portfolio/", views.portfolio, name="portfolio"),
    path("<int:fund_id>/report/", views.fund_report, name="report"),
    path("<int:fund_id>/report.pdf", views.fund_report_pdf, name="report_pdf"),
    path("calls/<int:call_id>/", views.call_detail, name="call"),
    path("calls/<int:call_id>/apply/", views.apply, name="apply"),
    path("applications/<int:application_id>/", views.application_detail, name="application"),
    path(
        "constellations/<int:constellation_id>/", views.constellation_detail, name="constellation"
    ),
    path(
        "applications/<int:application_id>/deep-analysis/",
        views.deep_analysis_detail,
        name="deep_analysis",
    ),
    path(
        "calls/<int:call_id>/phase-3/",
        views.deep_analysis_decision,
        name="deep_analysis_decision",
    ),
    path("<int:fund_id>/calendar/", views.follow_up_calendar, name="follow_up_calendar"),
    path(
        "constellations/<int:constellation_id>/follow-up/",
        views.constellation_follow_up,
        name="constellation_follow_up",
    ),
]
