/* The funnel page's hand-off per month (json_script "handoff-months"): leads passed and
   accepted as bars, the acceptance rate as a line on its own axis. The table under the chart
   holds the same figures for screen readers and for copying. */
(function () {
  "use strict";
  var box = document.getElementById("handoff-chart");
  var source = document.getElementById("handoff-months");
  if (!box || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  function count(v) { return Number(v).toLocaleString(lang); }
  function percent(v) {
    return v === null || v === undefined ? "—"
      : Number(v).toLocaleString(lang, { maximumFractionDigits: 1 }) + "%";
  }
  // Canvas, and a tooltip drawn on it (richText): the SVG renderer and the HTML tooltip write
  // style="…" attributes, which the Content-Security-Policy (style-src 'self') refuses.
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  var muted = "#52606d";
  chart.setOption({
    animation: false,
    grid: { left: 56, right: 56, top: 40, bottom: 40 },
    legend: { top: 0, textStyle: { color: muted } },
    tooltip: { trigger: "axis", renderMode: "richText" },
    xAxis: { type: "category", data: data.months, axisLabel: { color: muted, hideOverlap: true } },
    yAxis: [
      {
        type: "value", minInterval: 1,
        axisLabel: { color: muted, formatter: count },
        splitLine: { lineStyle: { color: "#dde2e8" } },
      },
      {
        type: "value", min: 0, max: 100,
        axisLabel: { color: muted, formatter: percent },
        splitLine: { show: false },
      },
    ],
    series: [
      {
        name: data.labels.leads, type: "bar", data: data.leads,
        barMaxWidth: 40, itemStyle: { color: "#9bb8d9" }, tooltip: { valueFormatter: count },
      },
      {
        name: data.labels.accepted, type: "bar", data: data.accepted,
        barMaxWidth: 40, itemStyle: { color: "#1b5aa0" }, tooltip: { valueFormatter: count },
      },
      {
        name: data.labels.rate, type: "line", yAxisIndex: 1, data: data.rate,
        connectNulls: false, symbolSize: 6,
        lineStyle: { color: "#c0392b", width: 2 }, itemStyle: { color: "#c0392b" },
        tooltip: { valueFormatter: percent },
      },
    ],
  });
  box.dataset.drawn = "true";
  window.addEventListener("resize", function () { chart.resize(); });
})();
