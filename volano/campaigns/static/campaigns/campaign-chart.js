/* A campaign's traffic over time (json_script "campaign-timeline"): visits and other touches
   as stacked bars, new leads as a line on its own axis. The table under the chart holds the
   same figures. Canvas renderer and richText tooltip: the CSP refuses inline styles. */
(function () {
  "use strict";
  var box = document.getElementById("campaign-chart");
  var source = document.getElementById("campaign-timeline");
  if (!box || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  function count(v) { return Number(v).toLocaleString(lang); }
  var muted = "#52606d";
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    grid: { left: 48, right: 48, top: 40, bottom: 40 },
    legend: { top: 0, textStyle: { color: muted } },
    tooltip: { trigger: "axis", renderMode: "richText" },
    xAxis: { type: "category", data: data.buckets, axisLabel: { color: muted, hideOverlap: true } },
    yAxis: [
      { type: "value", minInterval: 1, axisLabel: { color: muted, formatter: count },
        splitLine: { lineStyle: { color: "#dde2e8" } } },
      { type: "value", minInterval: 1, axisLabel: { color: muted, formatter: count },
        splitLine: { show: false } },
    ],
    series: [
      { name: data.labels.visits, type: "bar", stack: "touches", data: data.visits,
        barMaxWidth: 32, itemStyle: { color: "#9bb8d9" }, tooltip: { valueFormatter: count } },
      { name: data.labels.forms, type: "bar", stack: "touches", data: data.forms,
        barMaxWidth: 32, itemStyle: { color: "#1b5aa0" }, tooltip: { valueFormatter: count } },
      { name: data.labels.leads, type: "line", yAxisIndex: 1, data: data.leads, symbolSize: 6,
        lineStyle: { color: "#c0392b", width: 2 }, itemStyle: { color: "#c0392b" },
        tooltip: { valueFormatter: count } },
    ],
  });
  box.dataset.drawn = "true";
  window.addEventListener("resize", function () { chart.resize(); });
})();
