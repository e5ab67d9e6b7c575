/* Customer value (json_script "value-data"): two histograms, customers by lifetime value and by
   the probability of being still active. The tables under them hold the same figures. */
(function () {
  "use strict";
  var source = document.getElementById("value-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  var muted = "#52606d";
  function number(v, digits) {
    return Number(v).toLocaleString(lang, { maximumFractionDigits: digits || 0 });
  }
  var charts = [];
  function histogram(id, bins, label, format) {
    var box = document.getElementById(id);
    if (!box || !bins.counts.length) return;
    var names = bins.counts.map(function (_, i) { return format(bins.edges[i]) + "–" + format(bins.edges[i + 1]); });
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 16, bottom: 56 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: names, axisLabel: { color: muted, rotate: 40, hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1, name: label, nameTextStyle: { color: muted },
               axisLabel: { color: muted, formatter: function (v) { return number(v); } },
               splitLine: { lineStyle: { color: "#dde2e8" } } },
      series: [{ type: "bar", data: bins.counts, itemStyle: { color: "#1b5aa0" }, barCategoryGap: "8%" }],
    });
    box.dataset.drawn = "true";
    charts.push(chart);
  }
  histogram("value-clv", data.clv, data.labels.customers, function (v) { return number(v) + " " + data.currency; });
  histogram("value-alive", data.alive, data.labels.customers, function (v) { return number(v * 100) + "%"; });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
