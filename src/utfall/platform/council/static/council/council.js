// Draws every chart of the page with the vendored vega-embed; the table behind each chart
// stays in the page for screen readers and for anyone without JavaScript.
// The Content-Security-Policy allows no eval and no injected <style>: Vega's expressions run
// in vega-interpreter (ast: true) and vega-embed's style comes from vendor/vega-embed.css.
// Numbers on axes and in tooltips are written in the page's language: the d3 format locale
// of the active language comes from the page (<script id="vega-locale">, the formatting
// layer's vega_format_locale) and goes to vega-embed as formatLocale.
function councilFormatLocale() {
  var source = document.getElementById("vega-locale");
  return source ? JSON.parse(source.textContent) : undefined;
}

function councilEmbedOptions() {
  var options = {
    actions: { export: true, source: false, compiled: false, editor: false },
    renderer: "svg",
    ast: true,
    expr: vegaInterpreter.expressionInterpreter,
    defaultStyle: false,
    tooltip: { disableDefaultStyle: true }
  };
  var locale = councilFormatLocale();
  if (locale) { options.formatLocale = locale; }
  var words = document.getElementById("vega-i18n");
  if (words) { options.i18n = JSON.parse(words.textContent); }
  return options;
}

function councilDrawCharts(root) {
  if (typeof vegaEmbed === "undefined" || typeof vegaInterpreter === "undefined") {
    return;
  }
  (root || document).querySelectorAll("[data-chart]").forEach(function (element) {
    var source = document.getElementById(element.dataset.chart);
    if (!source || element.dataset.rendered) {
      return;
    }
    var spec = JSON.parse(source.textContent);
    vegaEmbed(element, spec, councilEmbedOptions())
      .then(function () { element.dataset.rendered = "true"; })
      .catch(function (error) { element.textContent = String(error); });
  });
}

document.addEventListener("DOMContentLoaded", function () { councilDrawCharts(document); });
// A dashboard computed in the background arrives through htmx: draw its charts then.
document.addEventListener("htmx:afterSettle", function () { councilDrawCharts(document); });
