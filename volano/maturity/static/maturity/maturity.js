/* Maturity (json_script "maturity-data"): the level of each answer as bars, and the levels at each
   assessment over time. The tables beside them hold the same figures. */
(function () {
  "use strict";
  var source = document.getElementById("maturity-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var muted = "#52606d";
  var charts = [];
  var levelAxis = { type: "value", min: 0, max: 4, interval: 1, name: data.labels.level,
                    nameTextStyle: { color: muted }, axisLabel: { color: muted },
                    splitLine: { lineStyle: { color: "#dde2e8" } } };
  var profile = document.getElementById("maturity-profile");
  if (profile) {
    var chart = window.echarts.init(profile, null, { renderer: "canvas" });
    var names = data.dimensions.map(function (d) { return d.name; });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: levelAxis,
      yAxis: { type: "category", data: names, inverse: true, axisLabel: { color: muted, width: 160, overflow: "truncate" } },
      series: [{ type: "bar", data: data.dimensions.map(function (d) {
        return { value: d.level, itemStyle: { color: d.kind === "factor" ? "#8a5a00" : "#1b5aa0" } };
      }) }],
    });
    profile.dataset.drawn = "true";
    charts.push(chart);
  }
  var progress = document.getElementById("maturity-progress");
  if (progress) {
    var line = window.echarts.init(progress, null, { renderer: "canvas" });
    var dates = data.history.map(function (h) { return h.date; });
    function series(key, color) {
      return { name: data.labels[key], type: "line", step: "end", data: data.history.map(function (h) { return h[key]; }),
               itemStyle: { color: color }, lineStyle: { color: color } };
    }
    line.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 40, bottom: 32 },
      legend: { top: 0, textStyle: { color: muted } },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: dates, axisLabel: { color: muted } },
      yAxis: levelAxis,
      series: [series("overall", "#1b5aa0"), series("practice", "#2f855a"), series("factors", "#8a5a00")],
    });
    progress.dataset.drawn = "true";
    charts.push(line);
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
