"""The platform's URLs plus a few test pages: two that fail on purpose (403, 500) and one
page that uses the shell's hooks (data-confirm, a form with errors, many h2 headings)."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from utfall.platform.urls import handler403, handler404, handler500, urlpatterns


def _boom(request):
    raise RuntimeError("/srv/utfall/secret/path.py line 42: boom")


def _forbidden(request):
    raise PermissionDenied("contract norrkoping-placed-children: role financier lacks sign")


class _SignForm(forms.Form):
    code = forms.CharField(label="Kod", help_text="Sex siffror", max_length=6)

    def clean_code(self):
        raise forms.ValidationError("Fel kod")


HOOKS = """{% extends "base.html" %}{% block content %}
<h1>Krokar</h1>
<form method="post" action="/shell-test/posted/" data-confirm="Utlåtandet signeras och kan inte ändras."
      data-testid="confirm-form">{% csrf_token %}
  <button type="submit" name="step" value="sign" class="primary">Signera</button>
</form>
<form hx-post="/shell-test/posted/" hx-target="#htmx-out" data-confirm="Utlysningen stängs i förtid."
      data-confirm-button="Stäng utlysningen" data-testid="htmx-form">
  <button type="submit" name="step" value="htmx">Stäng</button>
</form>
<div id="htmx-out" data-testid="htmx-out"></div>
<form method="post" action="/shell-test/posted/" data-testid="plain-form">{% csrf_token %}
  <button type="submit" name="step" value="plain">Spara</button>
</form>
<table class="table" data-testid="wide-table"><tr>{% for n in sections %}<td>Kostnadskategori&nbsp;nummer&nbsp;{{ n }}</td>{% endfor %}</tr></table>
<p><code>{{ hash }}</code></p>
{% for n in sections %}<h2>Avsnitt {{ n }}</h2><p class="filler">Text.</p>{% endfor %}
{% if form %}<form method="post" data-testid="error-form">{% csrf_token %}
  {% include "web/_form_fields.html" %}<button type="submit">Skicka</button></form>{% endif %}
{% endblock %}"""


def _hooks(request):
    form = None
    if request.method == "POST":
        form = _SignForm(request.POST)
        form.is_valid()
    elif "form" in request.GET:
        form = _SignForm()
    template = engines["django"].from_string(HOOKS)
    context = {"sections": range(1, 31), "form": form, "hash": "ab" * 120}
    return HttpResponse(template.render(context, request))


def _posted(request):
    return HttpResponse(f"posted {request.POST.get('step')}", content_type="text/plain")


urlpatterns = [
    path("shell-test/boom/", _boom),
    path("shell-test/forbidden/", _forbidden),
    path("shell-test/hooks/", _hooks),
    path("shell-test/posted/", _posted),
    *urlpatterns,
]

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
