/* An ROI report's chart (json_script "report-data"): over time, one stacked bar per period
   with one series per campaign (or cross-sell and up-sell); the content funnel as grouped
   bars per content asset, one per step. The table under the chart holds the same figures.
   Canvas renderer and richText tooltip: the CSP refuses inline styles. */
(function () {
  "use strict";
  var box = document.getElementById("report-chart");
  var source = document.getElementById("report-data");
  if (!box || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  function count(v) { return Number(v).toLocaleString(lang); }
  var muted = "#52606d";
  var palette = ["#1b5aa0", "#c0392b", "#2e8b57", "#d4a017", "#7d3c98", "#9bb8d9", "#e67e22",
                 "#16a085", "#566573", "#f1948a"];
  var stacked = data.kind === "time";
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    color: palette,
    grid: { left: 56, right: 24, top: 48, bottom: 48, containLabel: true },
    legend: { top: 0, type: "scroll", textStyle: { color: muted } },
    tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: count },
    xAxis: { type: "category", data: data.categories,
             axisLabel: { color: muted, hideOverlap: true, interval: stacked ? "auto" : 0,
                          width: 120, overflow: "truncate" } },
    yAxis: { type: "value", minInterval: data.integer ? 1 : 0, axisLabel: { color: muted, formatter: count },
             splitLine: { lineStyle: { color: "#dde2e8" } } },
    series: data.series.map(function (s) {
      return { name: s.name, type: "bar", data: s.data, barMaxWidth: 36,
               stack: stacked ? "all" : undefined };
    }),
  });
  box.dataset.drawn = "true";
  window.addEventListener("resize", function () { chart.resize(); });
})();
