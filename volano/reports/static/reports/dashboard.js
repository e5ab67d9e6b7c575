/* The dashboard's charts (json_script "dashboard-charts": {widget key: chart}), drawn with the
   vendored ECharts in the page's language (numbers as 1.234,5 in Italian). A chart's figures are
   also in the widget's table. Canvas renderer and richText tooltips: the CSP refuses inline
   styles. A null value (a ratio with nothing to divide by) is a gap, never NaN. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || !window.echarts) return;
  var charts = JSON.parse(source.textContent);
  var meta = JSON.parse(document.getElementById("dashboard-meta").textContent);
  var lang = document.documentElement.lang || "it";
  var muted = "#52606d";
  var palette = ["#1b5aa0", "#c0392b", "#2e8b57", "#d4a017", "#7d3c98", "#9bb8d9", "#e67e22"];
  function format(kind) {
    return function (v) {
      if (v === null || v === undefined || !isFinite(v)) return "—";
      if (kind === "percent") return Number(v * 100).toLocaleString(lang, { maximumFractionDigits: 1 }) + " %";
      if (kind === "money") return Number(v).toLocaleString(lang, { maximumFractionDigits: 0 }) + " " + meta.currency;
      if (kind === "ratio") return Number(v).toLocaleString(lang, { maximumFractionDigits: 2 });
      if (kind === "days") return Number(v).toLocaleString(lang, { maximumFractionDigits: 1 });
      return Number(v).toLocaleString(lang, { maximumFractionDigits: 0 });
    };
  }
  var drawn = [];
  function draw(box, chart, compact) {
    var f = format(chart.kind);
    var option;
    if (chart.type === "funnel") {
      option = {
        animation: false, color: palette,
        tooltip: { trigger: "item", renderMode: "richText", valueFormatter: f },
        series: [{ type: "funnel", sort: "none", minSize: "8%", left: "4%", width: "56%",
                   label: { formatter: function (p) { return p.name + ": " + f(p.value); } },
                   data: chart.categories.map(function (name, i) { return { name: name, value: chart.series[0].data[i] }; }) }],
      };
    } else {
      option = {
        animation: false, color: compact ? [palette[0]] : palette,
        grid: compact ? { left: 8, right: 8, top: 8, bottom: 8, containLabel: true }
                      : { left: 8, right: 16, top: chart.series.length > 1 ? 40 : 16, bottom: 8, containLabel: true },
        legend: chart.series.length > 1 && !compact ? { top: 0, type: "scroll", textStyle: { color: muted } } : undefined,
        tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: f },
        xAxis: { type: "category", data: chart.categories, axisLabel: { color: muted, hideOverlap: true, show: !compact } },
        yAxis: { type: "value", axisLabel: { color: muted, formatter: f, show: !compact },
                 minInterval: chart.kind === "int" ? 1 : 0, splitLine: { lineStyle: { color: "#dde2e8" } } },
        series: chart.series.map(function (s) {
          return { name: s.name, type: chart.type === "bar" ? "bar" : "line", data: s.data,
                   connectNulls: false, showSymbol: chart.categories.length < 40, barMaxWidth: 28 };
        }),
      };
    }
    var instance = window.echarts.init(box, null, { renderer: "canvas" });
    instance.setOption(option);
    box.dataset.drawn = "true";
    drawn.push(instance);
  }
  Object.keys(charts).forEach(function (key) {
    var chart = charts[key];
    var box = document.getElementById("chart-" + key);
    if (box) draw(box, chart, false);
    (chart.factors || []).forEach(function (factor, i) {
      var small = document.getElementById("chart-" + key + "-f" + i);
      if (small) draw(small, { type: "line", kind: factor.kind, categories: chart.categories,
                               series: [{ name: factor.name, data: factor.data }] }, true);
    });
  });
  window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
})();
