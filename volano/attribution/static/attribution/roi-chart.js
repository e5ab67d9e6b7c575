/* ROI per period (json_script "roi-data", present when a granularity is picked): cost and
   attributed revenue as two bars per bucket. Drawn on load and again each time the ROI form
   swaps its section (htmx:afterSettle). The table under the chart holds the same figures.
   Canvas renderer and richText tooltip: the CSP refuses inline styles. */
(function () {
  "use strict";
  var chart = null;
  function draw() {
    var box = document.getElementById("roi-chart");
    var source = document.getElementById("roi-data");
    if (chart) { chart.dispose(); chart = null; }
    if (!box || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var lang = document.documentElement.lang || "it";
    function number(v) {
      return Number(v).toLocaleString(lang, { maximumFractionDigits: 0 });
    }
    var muted = "#52606d";
    // one label every ~64px: a year of months or weeks stays readable on a phone
    var every = Math.max(0, Math.ceil(data.keys.length / Math.max(1, box.clientWidth / 64)) - 1);
    chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: ["#c0392b", "#1b5aa0"],
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { color: muted } },
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: number },
      xAxis: { type: "category", data: data.keys,
               axisLabel: { color: muted, interval: every,
                            rotate: data.keys.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", axisLabel: { color: muted, formatter: number },
               splitLine: { lineStyle: { color: "#dde2e8" } } },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", data: s.data, barMaxWidth: 24 };
      }),
    });
    box.dataset.drawn = "true";
  }
  draw();
  document.body.addEventListener("htmx:afterSettle", function () {
    // a new ROI section came in (its chart box not drawn yet), or it came without a chart
    var box = document.getElementById("roi-chart");
    if ((box && box.dataset.drawn !== "true") || (!box && chart)) draw();
  });
  window.addEventListener("resize", function () { if (chart) draw(); });
})();
