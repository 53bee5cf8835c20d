// Draws each insight chart from the data table beside it (the table is the source; the chart is aria-hidden).
// Lines are told apart by dash pattern and point shape as well as colour; bars carry their value as a label.
(function () {
  "use strict";
  function column(table, index) {
    return Array.from(table.tBodies[0].rows).map(function (row) {
      var cell = row.cells[index];
      var raw = cell ? cell.getAttribute("data-value") : "";
      return raw === "" || raw === null ? null : Number(raw);
    });
  }
  function labels(table) {
    return Array.from(table.tBodies[0].rows).map(function (row) { return row.cells[0].textContent.trim(); });
  }
  function heads(table) {
    return Array.from(table.tHead.rows[0].cells).map(function (c) { return c.textContent.trim(); });
  }
  var STYLES = [
    {stroke: "#1d4ed8", dash: [], points: {show: true, size: 7, fill: "#1d4ed8"}},
    {stroke: "#b45309", dash: [8, 5], points: {show: true, size: 8, fill: "#fff", width: 2}},
  ];
  function draw(el) {
    var table = document.getElementById(el.getAttribute("data-table"));
    if (!table || !window.uPlot || !table.tBodies[0].rows.length) { return; }
    var names = labels(table), head = heads(table);
    var ys = el.getAttribute("data-y").split(",").map(Number);
    var xs = names.map(function (_, i) { return i; });
    var bars = el.getAttribute("data-chart") === "bars";
    var series = [{label: head[0], value: function (u, v) { return v == null ? "" : names[v]; }}];
    var axes = [{values: function (u, ticks) { return ticks.map(function (t) { return names[t] || ""; }); },
                 space: 60, incrs: [1, 2, 5, 7, 10, 14, 30]}];
    ys.forEach(function (col, i) {
      var style = STYLES[i % STYLES.length];
      var s = {label: head[col] + (i ? " (" + (i + 1) + ")" : ""), stroke: style.stroke, width: 2, dash: style.dash,
               scale: i ? "y2" : "y", points: style.points};
      if (bars) {
        s.paths = uPlot.paths.bars({size: [0.6, 60]});
        s.fill = "rgba(29,78,216,0.35)";
        s.points = {show: false};
      }
      series.push(s);
      axes.push(i ? {scale: "y2", side: 1, grid: {show: false}, label: head[col]} : {scale: "y", label: head[col]});
    });
    var data = [xs].concat(ys.map(function (col) { return column(table, col); }));
    var width = Math.max(280, el.clientWidth || 480);
    var opts = {width: width, height: 220, series: series, axes: axes,
                scales: {x: {time: false, range: [-0.5, Math.max(0.5, xs.length - 0.5)]},
                         y: {range: function (u, min, max) { return [0, Math.max(1, max) * 1.15]; }}},
                legend: {show: true}, cursor: {points: {show: false}}};
    if (bars) {
      opts.hooks = {draw: [function (u) {  // the value on each bar: not colour alone
        var ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = "#111827";
        ctx.font = Math.round(11 * devicePixelRatio) + "px sans-serif";
        ctx.textAlign = "center";
        u.data[1].forEach(function (v, i) {
          if (v == null) { return; }
          ctx.fillText(String(v), u.valToPos(i, "x", true), u.valToPos(v, "y", true) - 4 * devicePixelRatio);
        });
        ctx.restore();
      }]};
    }
    el.textContent = "";
    new uPlot(opts, data, el);
    el.setAttribute("data-drawn", "1");
  }
  function all() { document.querySelectorAll(".plot[data-table]").forEach(draw); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", all); } else { all(); }
})();
