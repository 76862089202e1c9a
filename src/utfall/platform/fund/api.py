"""Fund endpoints of the REST API (a django-ninja router added to ``platform.api``).

Read-only, with the pages' rules: a fund's budget, forecast and portfolio for its
administrators (another user gets 404, as if the fund were not there); an applicant
sees the applications of its own organisations. Money is given as strings of
``Decimal`` (SEK to the öre), never as floats.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from utfall.core.fund import YearForecast
from utfall.platform.api_schemas import COMMON, ERRORS
from utfall.platform.fund import selectors
from utfall.platform.fund.contract import FundConfiguration
from utfall.platform.fund.models import Fund
from utfall.platform.permissions import is_fund_administrator

__all__ = ["router"]

router = Router(tags=["fund"])


class FundOut(Schema):
    id: int
    name: str
    outcome_payment_ceiling: Decimal | None
    max_share_of_costs: Decimal
    payment_category: str


class PortfolioOut(Schema):
    code: str
    constellation: str
    status: str
    committed: Decimal
    paid: Decimal
    reports: int


class FundDetailOut(FundOut):
    contract: str | None
    # Where the fund writes into its contract (decision 0506): tables, columns, the output.
    configuration: dict[str, str] | None
    as_of: date
    years: list[YearForecast]  # the core's dataclass, field for field
    portfolio: list[PortfolioOut]


class ApplicationOut(Schema):
    id: int
    call: str
    constellation: str
    status: str
    requested_outcome_payment: Decimal
    submitted_at: date


def _fund(fund: Fund) -> dict[str, object]:
    return {
        "id": fund.pk,
        "name": fund.name,
        "outcome_payment_ceiling": fund.outcome_payment_ceiling,
        "max_share_of_costs": fund.max_share_of_costs,
        "payment_category": fund.payment_category,
    }


@router.get("/funds", response={200: list[FundOut], **COMMON})
def fund_list(request: HttpRequest) -> list[dict[str, object]]:
    """The funds the user administers."""
    return [_fund(fund) for fund in selectors.fund_list_for_user(user=request.user)]


@router.get("/funds/{fund_id}", response={200: FundDetailOut, **ERRORS})
def fund_detail(request: HttpRequest, fund_id: int) -> dict[str, object]:
    """Budget, paid, committed and forecast per year, and the portfolio of constellations."""
    fund = Fund.objects.filter(pk=fund_id).first()
    if fund is None or not is_fund_administrator(request.user, fund):
        raise ObjectDoesNotExist(f"no fund {fund_id}")
    today = timezone.localdate()
    configuration = FundConfiguration.of(fund)
    return {
        **_fund(fund),
        "contract": fund.contract.identifier if fund.contract else None,
        "configuration": configuration.as_dict() if configuration else None,
        "as_of": today,
        "years": selectors.fund_forecast(fund, today=today),
        "portfolio": [
            {
                "code": row.constellation.code,
                "constellation": row.constellation.application.constellation_name,
                "status": row.constellation.status,
                "committed": row.committed,
                "paid": row.paid,
                "reports": row.reports,
            }
            for row in selectors.portfolio(fund)
        ],
    }


@router.get("/fund/applications", response={200: list[ApplicationOut], **COMMON})
def application_list(request: HttpRequest) -> list[dict[str, object]]:
    """The applications of the user's organisations, newest first."""
    return [
        {
            "id": application.pk,
            "call": application.call.title,
            "constellation": application.constellation_name,
            "status": application.status,
            "requested_outcome_payment": application.requested_outcome_payment,
            "submitted_at": timezone.localdate(application.submitted_at),
        }
        for application in selectors.application_list_for_user(user=request.user).order_by(
            "-submitted_at", "-pk"
        )
    ]
