"""Root URLs: pages, accounts (allauth), the API, language switching and the admin."""

from django.contrib import admin
from django.urls import include, path

from utfall.platform.api import api
from utfall.platform.web import views as web_views

urlpatterns = [
    path("favicon.ico", web_views.favicon, name="favicon"),
    path("", include("utfall.platform.web.urls")),
    path("", include("utfall.platform.council.urls")),
    path("", include("utfall.platform.settlements.urls")),
    path("", include("utfall.platform.design.urls")),
    path("accounts/", include("allauth.urls")),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("knowledge/", include("utfall.platform.knowledge.urls")),
    path("fund/", include("utfall.platform.fund.urls")),
    path("admin/", admin.site.urls),
]

# The error pages in the active language
# (docs/decisions/0810-error-pages-rendered-by-the-platform.md).
handler403 = "utfall.platform.web.views.permission_denied"
handler404 = "utfall.platform.web.views.page_not_found"
handler500 = "utfall.platform.web.views.server_error"
