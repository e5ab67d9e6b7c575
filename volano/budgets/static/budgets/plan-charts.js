/* Budget plan charts: the 70/20/10 gauge (json_script "gauge-data": a dial per maturity, its
   target band green, the needle red when more than five points off) and planned vs actual vs
   forecast per kind of cost (json_script "pvaf-data"). The gauge is redrawn after HTMX saves a
   cell (the summary is swapped out of band). Canvas renderer and richText tooltips: the CSP
   refuses inline styles. The tables next to the charts hold the same figures. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "it";
  var muted = "#52606d";
  function money(v) {
    return "€ " + Number(v).toLocaleString(lang, { maximumFractionDigits: 0 });
  }
  var gauge = null;
  function drawGauge() {
    var box = document.querySelector("[data-plan-gauge]");  // no id: htmx would copy its style attribute across a swap, which the CSP refuses
    var source = document.getElementById("gauge-data");
    if (!box || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    if (gauge) { gauge.dispose(); }
    gauge = window.echarts.init(box, null, { renderer: "canvas" });
    var keys = ["proven", "new", "experiment"];
    var narrow = box.clientWidth < 420;
    // three dials side by side: each as wide as a third of the box allows
    var radius = Math.max(Math.min(box.clientWidth / 6 - 6, box.clientHeight / 2 - 8), 30);
    var series = keys.map(function (key, i) {
      var share = Math.round((data.shares[key] || 0) * 1000) / 10;
      var target = Math.round(data.targets[key] * 100);
      var off = Math.abs(share - target) > 5;
      var max = key === "proven" ? 100 : 50;
      var low = Math.max(target - 5, 0) / max, high = Math.min(target + 5, max) / max;
      return {
        type: "gauge", min: 0, max: max, startAngle: 210, endAngle: -30, splitNumber: 5,
        center: [(16.7 + i * 33.3) + "%", narrow ? "50%" : "58%"], radius: radius,
        axisLine: { lineStyle: { width: 10, color: [[low, "#dde2e8"], [high, "#1d7a46"], [1, "#dde2e8"]] } },
        axisTick: { show: false }, splitLine: { length: 6, lineStyle: { color: "#9aa5b1" } },
        axisLabel: { show: !narrow, distance: 14, color: muted, fontSize: 10 },
        pointer: { width: 4, itemStyle: { color: off ? "#a3261b" : "#1b5aa0" } },
        title: { offsetCenter: [0, narrow ? "95%" : "78%"], color: muted, fontSize: narrow ? 11 : 13, lineHeight: 14 },
        detail: { valueAnimation: false, offsetCenter: [0, "40%"], fontSize: narrow ? 15 : 20,
          color: off ? "#a3261b" : "#1f2933", formatter: function (v) { return v.toLocaleString(lang) + "%"; } },
        data: [{ value: share, name: data.labels[key] + (narrow ? "\n" : " · ") + data.target_label + " " + target + "%" }],
      };
    });
    gauge.setOption({ animation: false, series: series });
    box.dataset.drawn = "true";
  }
  var bars = null;
  function drawBars() {
    var box = document.getElementById("pvaf-chart");
    var source = document.getElementById("pvaf-data");
    if (!box || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    bars = window.echarts.init(box, null, { renderer: "canvas" });
    var colors = { planned: "#9aa5b1", actual: "#1b5aa0", forecast: "#d35400" };
    bars.setOption({
      animation: false,
      grid: { left: 72, right: 16, top: 40, bottom: 72 },
      legend: { top: 0, textStyle: { color: muted } },
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: money },
      xAxis: { type: "category", data: data.kinds, axisLabel: { color: muted, interval: 0, rotate: box.clientWidth < 560 ? 35 : 0 } },
      yAxis: { type: "value", axisLabel: { color: muted, formatter: money }, splitLine: { lineStyle: { color: "#dde2e8" } } },
      series: ["planned", "actual", "forecast"].map(function (key) {
        return { name: data.labels[key], type: "bar", data: data[key], itemStyle: { color: colors[key] } };
      }),
    });
    box.dataset.drawn = "true";
  }
  function start() { drawGauge(); drawBars(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  document.body.addEventListener("htmx:afterSettle", drawGauge);
  window.addEventListener("resize", function () { if (gauge) gauge.resize(); if (bars) bars.resize(); });
})();
