/* A goal's progress (json_script "goal-data"): its value day by day so far, the straight line
   from the start to the target at the deadline (dashed) and today's expected value (a marked
   point on the line). The figures are on the page above the chart. Canvas renderer and
   richText tooltip: the CSP refuses inline styles. */
(function () {
  "use strict";
  var box = document.getElementById("goal-chart");
  var source = document.getElementById("goal-data");
  if (!box || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  function figure(v) {
    if (v === null || v === undefined) return "—";
    if (data.unit === "money") return "€ " + Number(v).toLocaleString(lang, { maximumFractionDigits: 0 });
    if (data.unit === "percent") return Number(v).toLocaleString(lang, { maximumFractionDigits: 1 }) + " %";
    return Number(v).toLocaleString(lang, { maximumFractionDigits: 1 });
  }
  var muted = "#52606d";
  var series = [
    { name: data.labels.value, type: "line", showSymbol: false, step: false,
      data: data.series, lineStyle: { color: "#1b5aa0", width: 2 }, itemStyle: { color: "#1b5aa0" },
      areaStyle: { color: "rgba(27, 90, 160, 0.08)" } },
    { name: data.labels.line, type: "line", showSymbol: false, data: data.line,
      lineStyle: { color: "#d35400", width: 2, type: "dashed" }, itemStyle: { color: "#d35400" },
      markPoint: { symbol: "circle", symbolSize: 11, label: { show: false },
        data: data.today[1] === null ? [] : [{ name: data.labels.today, coord: data.today }] } },
  ];
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    grid: { left: 72, right: 24, top: 48, bottom: 40 },
    legend: { top: 0, textStyle: { color: muted } },
    tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: figure },
    xAxis: { type: "time", axisLabel: { color: muted, hideOverlap: true } },
    yAxis: { type: "value", min: 0, axisLabel: { color: muted, formatter: figure },
      splitLine: { lineStyle: { color: "#dde2e8" } } },
    series: series,
  });
  box.dataset.drawn = "true";
  window.addEventListener("resize", function () { chart.resize(); });
})();
