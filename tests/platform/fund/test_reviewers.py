"""Reviewers (issue 18): a conflict-of-interest declaration per application before scoring, and
reviewers do not see each other's scores until they have scored.

Seed 003 (003_7d5cf87c6e04e6cb.txt) tabell 4: "Bedömning av styrkor och svagheter i inkomna
intresseanmälningar" by "Delegationen + SKR", and "Vilka konstellationer som kvalificerar till
fördjupad genomlysning – Delegationen"; the scoring of the qualified is the reviewers' part
of it, each on their own before the ranking.
"""

from __future__ import annotations

import pytest

from utfall.errors import UserError
from utfall.platform.audit.models import AuditEvent
from utfall.platform.fund import deep_analysis, services
from utfall.platform.fund.models import ConflictDeclaration, Review

SCORES = {"problem": 4, "capacity": 3, "cross_sector": 5}


@pytest.fixture
def qualified(fund_world):
    w = fund_world
    w.application = w.submit()
    services.application_screen(
        application=w.application, actor=w.admin, qualified=True, strengths="s", weaknesses="w"
    )
    return w


def test_scoring_needs_a_declaration_without_conflict(qualified):
    w = qualified
    with pytest.raises(UserError, match="declare any conflict"):
        services.review_submit(application=w.application, actor=w.admin, scores=SCORES)
    with pytest.raises(deep_analysis.DeepAnalysisInvalid, match="describe"):
        deep_analysis.conflict_declare(
            application=w.application, actor=w.reviewer, has_conflict=True, description=""
        )
    deep_analysis.conflict_declare(
        application=w.application,
        actor=w.reviewer,
        has_conflict=True,
        description="My sister leads the project",
    )
    with pytest.raises(UserError, match="conflict of interest does not score"):
        services.review_submit(application=w.application, actor=w.reviewer, scores=SCORES)
    with pytest.raises(UserError, match="already declared"):
        deep_analysis.conflict_declare(
            application=w.application, actor=w.reviewer, has_conflict=False, description=""
        )
    deep_analysis.conflict_declare(
        application=w.application, actor=w.admin, has_conflict=False, description=""
    )
    services.review_submit(application=w.application, actor=w.admin, scores=SCORES)
    assert Review.objects.count() == 1
    assert AuditEvent.objects.filter(action="fund_conflict_declared").count() == 2


def test_only_the_funds_administrators_declare(qualified):
    from django.core.exceptions import PermissionDenied

    w = qualified
    with pytest.raises(PermissionDenied):
        deep_analysis.conflict_declare(
            application=w.application, actor=w.applicant, has_conflict=False, description=""
        )


def test_others_scores_are_hidden_until_the_reviewer_has_scored(qualified):
    w = qualified
    deep_analysis.conflict_declare(
        application=w.application, actor=w.admin, has_conflict=False, description=""
    )
    services.review_submit(application=w.application, actor=w.admin, scores=SCORES)
    assert list(deep_analysis.reviews_visible(application=w.application, user=w.reviewer)) == []
    assert deep_analysis.reviews_visible(application=w.application, user=w.admin).count() == 1
    assert not deep_analysis.reviews_visible(application=w.application, user=w.applicant).exists()
    deep_analysis.conflict_declare(
        application=w.application, actor=w.reviewer, has_conflict=False, description=""
    )
    services.review_submit(application=w.application, actor=w.reviewer, scores=SCORES)
    assert deep_analysis.reviews_visible(application=w.application, user=w.reviewer).count() == 2


def test_the_application_page_asks_for_the_declaration_then_the_scores(client, qualified):
    w = qualified
    deep_analysis.conflict_declare(
        application=w.application, actor=w.admin, has_conflict=False, description=""
    )
    services.review_submit(
        application=w.application, actor=w.admin, scores=SCORES, comment="Admin's secret view"
    )
    client.force_login(w.reviewer)
    url = f"/fund/applications/{w.application.pk}/"
    page = client.get(url).content.decode()
    assert 'data-testid="conflict-form"' in page and 'data-confirm="' in page
    assert 'data-testid="review-form"' not in page
    assert "Admin&#x27;s secret view" not in page and "Admin's secret view" not in page
    assert 'data-testid="reviews-hidden"' in page
    # A scoring post without a declaration is refused by the service, shown on the page.
    client.post(url, {"declare": "1", "has_conflict": "no", "description": ""})
    assert ConflictDeclaration.objects.filter(reviewer=w.reviewer).exists()
    page = client.get(url).content.decode()
    assert 'data-testid="review-form"' in page and 'data-testid="conflict-form"' not in page
    assert "Admin" not in page.split('data-testid="reviews"')[1].split("</table>")[0]
    client.post(url, {"review": "1", **{f"score_{k}": str(v) for k, v in SCORES.items()}})
    page = client.get(url).content.decode()
    assert "Admin&#x27;s secret view" in page


def test_a_declared_conflict_shows_instead_of_the_scores(client, qualified):
    w = qualified
    client.force_login(w.reviewer)
    url = f"/fund/applications/{w.application.pk}/"
    response = client.post(url, {"declare": "1", "has_conflict": "yes", "description": ""})
    assert "Beskriv jävet" in response.content.decode()
    client.post(url, {"declare": "1", "has_conflict": "yes", "description": "Board member"})
    page = client.get(url).content.decode()
    assert 'data-testid="conflict-declared"' in page
    assert 'data-testid="review-form"' not in page


def test_the_call_ranking_hides_the_mean_score_from_a_reviewer_who_has_not_scored(
    client, qualified
):
    w = qualified
    deep_analysis.conflict_declare(
        application=w.application, actor=w.admin, has_conflict=False, description=""
    )
    services.review_submit(
        application=w.application,
        actor=w.admin,
        scores={"problem": 5, "capacity": 5, "cross_sector": 1},
    )
    url = f"/fund/calls/{w.call.pk}/"
    client.force_login(w.admin)
    assert "3,00" in client.get(url).content.decode()  # (5 + 5 + 2·1) / 4
    client.force_login(w.reviewer)
    assert "3,00" not in client.get(url).content.decode()
