"""The statistics page (quality lead): trends, delays, satisfaction and recurrence, charts in SVG."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ... import analysis
from ...forms.quality import StatisticsPeriodForm
from ...statistics import Period
from .access import quality_lead_required


@require_GET
@quality_lead_required
def statistics(request: HttpRequest) -> HttpResponse:
    default = Period.last_twelve_months()
    if "start" in request.GET or "end" in request.GET:
        form = StatisticsPeriodForm(request.GET)
        period = form.period() if form.is_valid() else default
    else:
        form = StatisticsPeriodForm(initial={"start": default.start, "end": default.end})
        period = default
    result = analysis.analyse(period=period)
    return render(request, "quality/statistics.html", {
        "form": form,
        "analysis": result,
        "figures": result.figures,
        "overview_charts": analysis.overview_charts(result.figures),
        "trends": [(trend, analysis.trend_charts(trend)) for trend in result.trends],
        "delay_charts": analysis.delay_charts(result.delays),
        "satisfaction_charts": analysis.satisfaction_charts(result.satisfaction),
        "nav": "quality", "quality_nav": "statistics",
    })
