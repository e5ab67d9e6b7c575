/* Cohort retention (json_script "cohorts-data"): a heat map, first-order month down, months
   after it across, each cell the share of the cohort that bought in that month. The table
   under it holds the same figures. */
(function () {
  "use strict";
  var source = document.getElementById("cohorts-data");
  var box = document.getElementById("cohorts-heat");
  if (!source || !box || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  var muted = "#52606d";
  var width = 0;
  var cells = [];
  data.shares.forEach(function (row, i) {
    width = Math.max(width, row.length);
    row.forEach(function (share, k) {
      if (share !== null && k > 0) cells.push([k, i, Math.round(share * 1000) / 10]);
    });
  });
  var columns = [];
  for (var k = 0; k < width; k++) columns.push("M" + k);
  function percent(v) { return Number(v).toLocaleString(lang, { maximumFractionDigits: 1 }) + "%"; }
  var max = cells.reduce(function (m, c) { return Math.max(m, c[2]); }, 1);
  var chart = window.echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    grid: { left: 72, right: 24, top: 16, bottom: 72 },
    tooltip: { renderMode: "richText", formatter: function (p) {
      return data.months[p.value[1]] + " · M" + p.value[0] + ": " + percent(p.value[2]);
    } },
    xAxis: { type: "category", data: columns, name: data.labels.month, nameLocation: "middle", nameGap: 28,
             axisLabel: { color: muted }, splitArea: { show: true } },
    yAxis: { type: "category", data: data.months, inverse: true, axisLabel: { color: muted }, splitArea: { show: true } },
    visualMap: { min: 0, max: max, calculable: false, orient: "horizontal", left: "center", bottom: 0,
                 itemHeight: 120, text: [percent(max), "0%"], textStyle: { color: muted },
                 inRange: { color: ["#eef4fb", "#1b5aa0"] } },
    // the percentages in the cells only where a cell is wide enough to hold one (not on a phone)
    series: [{ type: "heatmap", data: cells, label: { show: (box.clientWidth - 96) / Math.max(width, 1) >= 40, color: "#1f2933",
               formatter: function (p) { return Math.round(p.value[2]) + "%"; } } }],
  });
  box.dataset.drawn = "true";
  window.addEventListener("resize", function () { chart.resize(); });
})();
