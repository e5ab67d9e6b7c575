/* The segment's size over time, from the SegmentSize rows (json_script "size-data"). */
(function () {
  "use strict";
  var box = document.getElementById("size-chart");
  if (!box || !window.echarts) return;
  var data = JSON.parse(document.getElementById("size-data").textContent);
  var lang = document.documentElement.lang || "it";
  // Canvas, and a tooltip drawn on it (richText): the SVG renderer and the HTML tooltip write
  // style="…" attributes, which the Content-Security-Policy (style-src 'self') refuses.
  // The Italian locale (vendor/i18n/langIT.js) gives month names; ECharts looks the name up in capitals.
  var chart = window.echarts.init(box, null, { renderer: "canvas", locale: lang.toUpperCase() });
  // data.at holds the wall-clock time of the page's time zone (data.time_zone) written as if it were
  // UTC, so with useUTC the axis reads the server's zone, not the browser's.
  var points = data.at.map(function (at, i) { return [at, data.size[i]]; });
  chart.setOption({
    useUTC: true,
    animation: false,
    grid: { left: 56, right: 24, top: 16, bottom: 40 },
    tooltip: {
      trigger: "axis",
      renderMode: "richText",
      valueFormatter: function (v) { return Number(v).toLocaleString(lang); },
    },
    xAxis: { type: "time", axisLabel: { color: "#52606d", hideOverlap: true } },
    yAxis: {
      type: "value", minInterval: 1,
      axisLabel: { color: "#52606d", formatter: function (v) { return Number(v).toLocaleString(lang); } },
      splitLine: { lineStyle: { color: "#dde2e8" } },
    },
    series: [{
      name: data.label, type: "line", data: points, showSymbol: points.length < 40,
      symbolSize: 6, lineStyle: { color: "#1b5aa0", width: 2 }, itemStyle: { color: "#1b5aa0" },
      areaStyle: { color: "rgba(27, 90, 160, 0.08)" },
    }],
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
