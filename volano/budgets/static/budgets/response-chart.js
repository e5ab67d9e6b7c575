/* Response curves (json_script "response-data"): for each channel, the weekly outcome of a steady
   weekly spend, its 90% band as a thin dashed pair, and today's spend as a marked point. The table
   above the chart holds the figures. Canvas renderer and richText tooltip: the CSP refuses
   inline styles. */
(function () {
  "use strict";
  var box = document.getElementById("response-chart");
  var source = document.getElementById("response-data");
  if (!box || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  function money(v) { return Number(v).toLocaleString(lang, { maximumFractionDigits: 0 }); }
  var palette = ["#1b5aa0", "#c0392b", "#1d7a46", "#8e44ad", "#d35400", "#2c3e50", "#16a085", "#7f8c8d"];
  var muted = "#52606d";
  var series = [];
  data.curves.forEach(function (curve, i) {
    var color = palette[i % palette.length];
    function pairs(values) { return curve.spend.map(function (s, k) { return [s, values[k]]; }); }
    series.push({ name: curve.key, type: "line", showSymbol: false, data: pairs(curve.outcome),
      lineStyle: { color: color, width: 2 }, itemStyle: { color: color },
      markPoint: { symbol: "circle", symbolSize: 10, label: { show: false },
        data: [{ name: data.labels.today, coord: [curve.current_spend, curve.current_outcome] }] } });
    [curve.low, curve.high].forEach(function (band) {
      series.push({ name: curve.key, type: "line", showSymbol: false, data: pairs(band),
        lineStyle: { color: color, width: 1, type: "dashed", opacity: 0.5 }, tooltip: { show: false } });
    });
  });
  var narrow = box.clientWidth < 560;  // the legend takes two or three lines on a phone
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    grid: { left: 64, right: 24, top: narrow ? 96 : 56, bottom: 48 },
    legend: { top: 0, textStyle: { color: muted } },
    tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: money },
    xAxis: { type: "value", name: data.labels.spend, nameLocation: "middle", nameGap: 30,
      axisLabel: { color: muted, formatter: money } },
    yAxis: { type: "value", name: data.labels.outcome, axisLabel: { color: muted, formatter: money },
      splitLine: { lineStyle: { color: "#dde2e8" } } },
    series: series,
  });
  box.dataset.drawn = "true";
  window.addEventListener("resize", function () { chart.resize(); });
})();
