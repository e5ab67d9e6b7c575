/* A mailing's report (json_script "report-data"): sent → delivered → opened → clicked as bars,
   and human opens and clicks per hour since the send as lines. The tables beside the charts
   hold the same figures for screen readers and for copying. */
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  var muted = "#52606d";
  function count(v) { return Number(v).toLocaleString(lang); }
  function hour(iso) {
    var d = new Date(iso);
    return d.toLocaleDateString(lang, { day: "2-digit", month: "2-digit" }) + " " +
      d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }
  var charts = [];
  // Canvas and a richText tooltip: the SVG renderer and the HTML tooltip write style="…",
  // which the Content-Security-Policy (style-src 'self') refuses.
  var funnelBox = document.getElementById("report-funnel");
  if (funnelBox) {
    var funnel = window.echarts.init(funnelBox, null, { renderer: "canvas" });
    funnel.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 16, bottom: 32 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: data.labels.funnel, axisLabel: { color: muted, interval: 0 } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: muted, formatter: count },
               splitLine: { lineStyle: { color: "#dde2e8" } } },
      series: [{
        type: "bar", data: data.funnel, barMaxWidth: 56,
        itemStyle: { color: "#1b5aa0" }, tooltip: { valueFormatter: count },
        label: { show: true, position: "top", color: muted, formatter: function (p) { return count(p.value); } },
      }],
    });
    funnelBox.dataset.drawn = "true";
    charts.push(funnel);
  }
  var timeBox = document.getElementById("report-timeline");
  if (timeBox) {
    var time = window.echarts.init(timeBox, null, { renderer: "canvas" });
    time.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 36, bottom: 40 },
      legend: { top: 0, textStyle: { color: muted } },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: data.hours.map(hour), axisLabel: { color: muted, hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: muted, formatter: count },
               splitLine: { lineStyle: { color: "#dde2e8" } } },
      series: [
        { name: data.labels.opens, type: "line", data: data.opens, symbolSize: 4,
          lineStyle: { color: "#1b5aa0", width: 2 }, itemStyle: { color: "#1b5aa0" },
          tooltip: { valueFormatter: count } },
        { name: data.labels.clicks, type: "line", data: data.clicks, symbolSize: 4,
          lineStyle: { color: "#c0392b", width: 2 }, itemStyle: { color: "#c0392b" },
          tooltip: { valueFormatter: count } },
      ],
    });
    timeBox.dataset.drawn = "true";
    charts.push(time);
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
