// Draws the finance tab's charts with the vendored vega-embed and the page language's number
// format (the d3 format locale in #vega-locale), also for charts htmx adds later (the
// expected payout). The tables behind the charts stay in the page.
(function () {
  function locale() {
    var source = document.getElementById("vega-locale");
    return source ? JSON.parse(source.textContent) : undefined;
  }
  function draw(root) {
    if (typeof vegaEmbed === "undefined" || typeof vegaInterpreter === "undefined") {
      return;
    }
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      if (element.dataset.rendered) {
        return;
      }
      // A chart htmx adds carries its spec in data-spec (htmx inserts no <script> elements).
      var source = document.getElementById(element.dataset.chart);
      var text = element.dataset.spec || (source && source.textContent);
      if (!text) {
        return;
      }
      element.dataset.rendered = "pending";
      vegaEmbed(element, JSON.parse(text), {
        actions: false,
        renderer: "svg",
        ast: true,
        expr: vegaInterpreter.expressionInterpreter,
        defaultStyle: false,
        formatLocale: locale(),
        tooltip: { disableDefaultStyle: true }
      })
        .then(function () { element.dataset.rendered = "true"; })
        .catch(function (error) { element.textContent = String(error); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
