// Draws every chart of the page with the vendored vega-embed; the table behind each chart
// stays in the page for screen readers and for anyone without JavaScript.
// The Content-Security-Policy allows no eval and no injected <style>: Vega's expressions run
// in vega-interpreter (ast: true) and vega-embed's style comes from vendor/vega-embed.css.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-chart]").forEach(function (element) {
    var source = document.getElementById(element.dataset.chart);
    if (!source || typeof vegaEmbed === "undefined" || typeof vegaInterpreter === "undefined") {
      return;
    }
    var spec = JSON.parse(source.textContent);
    vegaEmbed(element, spec, {
      actions: { export: true, source: false, compiled: false, editor: false },
      renderer: "svg",
      ast: true,
      expr: vegaInterpreter.expressionInterpreter,
      defaultStyle: false,
      tooltip: { disableDefaultStyle: true }
    })
      .then(function () { element.dataset.rendered = "true"; })
      .catch(function (error) { element.textContent = String(error); });
  });
});
