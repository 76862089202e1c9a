"""web/_form_fields.html: each field's errors under it, tied with aria; the form's own
errors last (directly above the submit button); the progress partial's states."""

from __future__ import annotations

import re

from django import forms
from django.template.loader import render_to_string
from django.utils import translation


class _Form(forms.Form):
    name = forms.CharField(label="Name", help_text="As on the contract")
    amount = forms.IntegerField(label="Amount")
    agree = forms.BooleanField(label="Agree", required=False)

    def clean(self):
        raise forms.ValidationError("The whole form is wrong")


def _html() -> str:
    form = _Form(data={"name": "", "amount": "x"})
    assert not form.is_valid()
    return render_to_string("web/_form_fields.html", {"form": form})


def test_field_errors_sit_under_their_field_and_are_described():
    html = _html()
    name_input = re.search(r"<input[^>]*name=\"name\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in name_input
    assert 'aria-describedby="id_name_helptext id_name_error"' in name_input
    assert 'id="id_name_helptext"' in html and 'id="id_name_error"' in html
    # The error list of "name" comes after its input and before the next field's label.
    assert html.index(name_input) < html.index('id="id_name_error"') < html.index('for="id_amount"')
    amount_input = re.search(r"<input[^>]*name=\"amount\"[^>]*>", html).group(0)
    assert 'aria-describedby="id_amount_error"' in amount_input
    agree_input = re.search(r"<input[^>]*name=\"agree\"[^>]*>", html).group(0)
    assert "aria-invalid" not in agree_input


def test_non_field_errors_come_last_above_the_button():
    html = _html()
    assert "The whole form is wrong" in html
    box = html.index('class="form-errors"')
    assert box > html.index('for="id_agree"')  # after every field
    assert 'role="alert"' in html[box - 40 : box + 80]


class _ValidForm(forms.Form):
    name = forms.CharField(label="Name", help_text="As on the contract")


def test_a_valid_form_shows_no_error_box():
    form = _ValidForm(data={"name": "a"})
    assert form.is_valid()
    html = render_to_string("web/_form_fields.html", {"form": form})
    assert "form-errors" not in html and "errorlist" not in html
    assert "aria-invalid" not in html and 'aria-describedby="id_name_helptext"' in html


def test_task_progress_polls_until_finished():
    with translation.override("sv"):
        running = render_to_string(
            "web/_task_progress.html",
            {"poll_url": "/x/progress/", "label": "Beräknar", "share": "0.45"},
        )
        finished = render_to_string(
            "web/_task_progress.html",
            {
                "poll_url": "/x/progress/",
                "label": "Beräknar",
                "finished": True,
                "result_url": "/x/",
            },
        )
        unknown = render_to_string(
            "web/_task_progress.html", {"poll_url": "/x/progress/", "label": "Beräknar"}
        )
        failed = render_to_string(
            "web/_task_progress.html",
            {"poll_url": "/x/", "label": "Beräknar", "finished": True, "failed": True},
        )
    assert 'hx-get="/x/progress/"' in running and 'hx-trigger="every 1s"' in running
    assert 'value="0.45"' in running and "45\u00a0%" in running
    assert "hx-get" not in finished and 'href="/x/"' in finished and "Visa resultatet" in finished
    assert '<progress id="task-progress-bar">' in unknown and "hx-get" in unknown
    assert "åtgärden misslyckades" in failed and "hx-get" not in failed
