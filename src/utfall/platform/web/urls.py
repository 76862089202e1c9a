"""Page URLs."""

from django.urls import path

from utfall.platform.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("tokens/", views.tokens, name="tokens"),
    path("invitations/", views.invitations, name="invitations"),
    path("contracts/<slug:identifier>/", views.contract_detail, name="contract"),
    path(
        "contracts/<slug:identifier>/versions/", views.contract_versions, name="contract_versions"
    ),
    path(
        "contracts/<slug:identifier>/versions/<int:number>.yaml",
        views.contract_version_text,
        name="contract_version_text",
    ),
    path("contracts/<slug:identifier>/parties/", views.contract_parties, name="contract_parties"),
    path("contracts/<slug:identifier>/participants/", views.participants, name="participants"),
    path("contracts/<slug:identifier>/imports/", views.imports, name="imports"),
    path("contracts/<slug:identifier>/imports/<int:batch_id>/", views.import_detail, name="import"),
    path(
        "contracts/<slug:identifier>/imports/<int:batch_id>/progress/",
        views.import_progress,
        name="import_progress",
    ),
    path(
        "contracts/<slug:identifier>/imports/<int:batch_id>/problems.csv",
        views.import_problems_csv,
        name="import_problems_csv",
    ),
    path(
        "contracts/<slug:identifier>/tables/<slug:table>/template.<str:format>",
        views.table_template,
        name="table_template",
    ),
    path("contracts/<slug:identifier>/audit/", views.audit, name="audit"),
    path("contracts/<slug:identifier>/settlements/", views.settlements, name="settlements"),
]
