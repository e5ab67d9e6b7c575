/* The seven models side by side (json_script "attribution-data"): one group of bars per row of
   the table, one bar per model. Drawn on load and again when the section is swapped in
   (htmx:afterSettle: it fills in once computed in the background). The table under the chart
   holds the same figures. Canvas renderer and richText tooltip: the CSP refuses inline styles. */
(function () {
  "use strict";
  var chart = null;
  var muted = "#52606d";
  var colours = ["#9bb8d9", "#1b5aa0", "#5b8c5a", "#c9a227", "#8e5ea2", "#c0392b", "#2c3e50"];
  function draw() {
    var box = document.getElementById("attribution-chart");
    var source = document.getElementById("attribution-data");
    if (chart) { chart.dispose(); chart = null; }
    if (!box || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var lang = document.documentElement.lang || "it";
    function number(v) {
      return Number(v).toLocaleString(lang, { maximumFractionDigits: data.revenue ? 0 : 1 });
    }
    chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: colours,
      grid: { left: 56, right: 16, top: 56, bottom: 72, containLabel: true },
      legend: { top: 0, type: "scroll", textStyle: { color: muted } },
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: number },
      xAxis: { type: "category", data: data.keys,
               axisLabel: { color: muted, interval: 0, rotate: data.keys.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", axisLabel: { color: muted, formatter: number },
               splitLine: { lineStyle: { color: "#dde2e8" } } },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", data: s.data, barMaxWidth: 18 };
      }),
    });
    box.dataset.drawn = "true";
  }
  draw();
  document.body.addEventListener("htmx:afterSettle", function () {
    // a new models section came in (its chart box not drawn yet), or it came without a chart
    var box = document.getElementById("attribution-chart");
    if ((box && box.dataset.drawn !== "true") || (!box && chart)) draw();
  });
  window.addEventListener("resize", function () { if (chart) chart.resize(); });
})();
