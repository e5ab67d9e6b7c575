/* Costs per month (json_script "costs-by-month") as stacked bars: the campaigns' costs and the
   channel-level spend (weekly spend per channel, on no campaign). The table under the chart holds
   the same figures. Canvas renderer and richText tooltip: the CSP refuses inline styles. */
(function () {
  "use strict";
  var box = document.getElementById("costs-chart");
  var source = document.getElementById("costs-by-month");
  if (!box || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  function money(v) {
    return Number(v).toLocaleString(lang, { style: "currency", currency: data.currency || "EUR",
      maximumFractionDigits: 0 });
  }
  var muted = "#52606d";
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    color: ["#1b5aa0", "#c9a227"],
    grid: { left: 72, right: 16, top: 40, bottom: 40 },
    legend: { top: 0, textStyle: { color: muted } },
    tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: money },
    xAxis: { type: "category", data: data.months, axisLabel: { color: muted, hideOverlap: true } },
    yAxis: { type: "value", axisLabel: { color: muted, formatter: money },
      splitLine: { lineStyle: { color: "#dde2e8" } } },
    series: data.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "cost", data: s.data, barMaxWidth: 32 };
    }),
  });
  box.dataset.drawn = "true";
  window.addEventListener("resize", function () { chart.resize(); });
})();
