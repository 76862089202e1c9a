"""Settlement, key and finance pages."""

from django.urls import path

from utfall.platform.settlements import views

app_name = "settlements"

urlpatterns = [
    path(
        "contracts/<slug:identifier>/settlements/<int:pk>/", views.statement_detail, name="detail"
    ),
    path(
        "contracts/<slug:identifier>/settlements/<int:pk>/action/",
        views.statement_action,
        name="action",
    ),
    path(
        "contracts/<slug:identifier>/settlements/<int:pk>/rows/<slug:evaluation>/<slug:part>.csv",
        views.statement_rows,
        name="rows",
    ),
    path(
        "contracts/<slug:identifier>/settlements/<int:pk>/bundle.json",
        views.statement_bundle,
        name="bundle",
    ),
    path(
        "contracts/<slug:identifier>/settlements/jobs/<slug:job>/",
        views.statement_job,
        name="job",
    ),
    path("contracts/<slug:identifier>/finance/", views.finance, name="finance"),
    path(
        "contracts/<slug:identifier>/finance/expected/",
        views.finance_expected,
        name="finance_expected",
    ),
    path("keys/", views.public_keys, name="keys"),
    path("keys/<str:fingerprint>.pem", views.public_key_pem, name="key_pem"),
]
