// Attendant console: time in state, local clock times, open action panels kept across live updates,
// and the optional sound + browser notification for a new intervention (off unless switched on).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  if ((navigator.language || "").split("-")[0] === lang) { lang = navigator.language; }  // en-GB: 24-hour clock
  var seen = null;  // intervention ids already in the queue

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function elapsed(iso) {
    var s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }
  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var iso = el.getAttribute("data-since");
      if (iso) { el.textContent = elapsed(iso); }
    });
  }
  function clocks(root) {
    root.querySelectorAll("time.clock").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) { el.textContent = when.toLocaleTimeString(lang); }
    });
  }
  function alertsOn() { return localStorage.getItem("console-alerts") === "on"; }
  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.2;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.3);
    } catch (e) { /* no audio: the page still shows it */ }
  }
  function checkNew() {
    var ids = {}, fresh = [];
    document.querySelectorAll("#queue [data-intervention]").forEach(function (el) {
      var id = el.getAttribute("data-intervention");
      ids[id] = true;
      if (seen && !seen[id] && el.getAttribute("data-stage") === "raised") { fresh.push(el); }
    });
    seen = ids;
    if (!fresh.length || !alertsOn()) { return; }
    beep();
    if (window.Notification && Notification.permission === "granted") {
      fresh.forEach(function (el) { new Notification(el.querySelector(".what").textContent.trim()); });
    }
  }
  var open = {};
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (e.detail && e.detail.type === "expired") { window.location.href = "/console/login"; return; }
    // added to, not replaced: a second message can arrive before the first one's swap has settled
    document.querySelectorAll("details[open], input[type=checkbox]:checked").forEach(function (el) {
      if (el.id) { open[el.id] = true; }
    });
  });
  var flashTimer = null;
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.target && e.target.id === "flash") {  // a message stays 8 s
      clearTimeout(flashTimer);
      flashTimer = setTimeout(function () { e.target.textContent = ""; }, 8000);
    }
    Object.keys(open).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { return; }
      if (el.tagName === "DETAILS") { el.open = true; } else { el.checked = true; }
    });
    open = {};
    clocks(document); tick(); checkNew();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("alerts");
    if (toggle) {
      toggle.checked = alertsOn();
      toggle.addEventListener("change", function () {
        localStorage.setItem("console-alerts", toggle.checked ? "on" : "off");
        if (toggle.checked && window.Notification && Notification.permission === "default") {
          Notification.requestPermission();
        }
      });
    }
    var select = document.getElementById("lang-select");
    if (select) { select.addEventListener("change", function () { select.form.submit(); }); }
    clocks(document); tick(); checkNew();
    setInterval(tick, 1000);
  });
})();
