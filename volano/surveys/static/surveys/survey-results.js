/* A survey's results (json_script "survey-data"): the NPS or CSAT month by month with the
   number of answers under it, and the answers for each score coloured by group. The tables
   under the charts hold the same figures. */
(function () {
  "use strict";
  var source = document.getElementById("survey-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  var muted = "#52606d";
  var charts = [];
  function month(iso) {
    var d = new Date(iso + "T12:00:00");
    return d.toLocaleDateString(lang, { month: "short", year: "2-digit" });
  }
  var box = document.getElementById("survey-months");
  if (box && data.months.length) {
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 48, top: 32, bottom: 40 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, textStyle: { color: muted } },
      xAxis: { type: "category", data: data.months.map(month), axisLabel: { color: muted } },
      yAxis: [
        { type: "value", name: data.labels.value, min: data.kind === "nps" ? -100 : 0, max: 100,
          axisLabel: { color: muted }, splitLine: { lineStyle: { color: "#dde2e8" } } },
        { type: "value", name: data.labels.answers, minInterval: 1, axisLabel: { color: muted }, splitLine: { show: false } },
      ],
      series: [
        { name: data.labels.answers, type: "bar", yAxisIndex: 1, data: data.answers, itemStyle: { color: "#c9d6e8" } },
        { name: data.labels.value, type: "line", data: data.values, itemStyle: { color: "#1b5aa0" }, lineStyle: { width: 3 } },
      ],
    });
    box.dataset.drawn = "true";
    charts.push(chart);
  }
  var dist = document.getElementById("survey-distribution");
  if (dist && data.distribution.length) {
    var bars = window.echarts.init(dist, null, { renderer: "canvas" });
    bars.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 16, bottom: 40 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", name: data.labels.score, data: data.distribution.map(function (d) { return String(d[0]); }), axisLabel: { color: muted } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: muted }, splitLine: { lineStyle: { color: "#dde2e8" } } },
      series: [{ type: "bar", data: data.distribution.map(function (d) {
        var colour = d[0] >= data.good_from ? "#1f7a4d" : d[0] <= data.bad_to ? "#b42318" : "#8a94a3";
        return { value: d[1], itemStyle: { color: colour } };
      }) }],
    });
    dist.dataset.drawn = "true";
    charts.push(bars);
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
