"""The design page of a contract."""

from django.urls import path

from utfall.platform.design import views

app_name = "design"

urlpatterns = [
    path("contracts/<slug:identifier>/design/", views.design_page, name="page"),
]
