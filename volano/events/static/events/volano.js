/* Volano website tracking. Embed with:
   <script async src="https://VOLANO/t/volano.js" data-key="TRACKING_KEY"></script>
   Sets a first-party anonymous id (cookie vl_aid), sends a page view with UTM parameters and the
   visible time spent on the page, fills hidden fields of Volano forms, and offers
   window.volano.track(type, properties).
   The visitor id reaches a form post only as this cookie, never as a form field: Volano joins a
   visitor to the contact a form creates when the browser sends the cookie with the post, which
   it does when Volano is served on the same site (e.g. volano.example.com for www.example.com,
   with data-cookie-domain="example.com"). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.volano && window.volano.loaded) return;
  var key = script.getAttribute("data-key");
  var cookieDomain = script.getAttribute("data-cookie-domain");
  var base = script.src.replace(/\/t\/volano\.js.*$/, "");
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxxxxxx4xxxyxxxxxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = Math.random() * 16 | 0;
      return (c === "x" ? r : (r & 3 | 8)).toString(16);
    });
  }

  function anonymousId() {
    var match = document.cookie.match(/(?:^|;\s*)vl_aid=([A-Za-z0-9_-]{8,64})/);
    var aid = match ? match[1] : uid();
    document.cookie = "vl_aid=" + aid + "; max-age=31536000; path=/; SameSite=Lax" +
      (cookieDomain && /^[A-Za-z0-9.-]+$/.test(cookieDomain) ? "; domain=" + cookieDomain : "") +
      (location.protocol === "https:" ? "; Secure" : "");
    return aid;
  }

  function campaign() {
    var params = new URLSearchParams(location.search), found = {}, any = false;
    UTM.forEach(function (name) {
      var value = params.get(name);
      if (value) { found[name] = value.slice(0, 100); any = true; }
    });
    try {
      if (any) sessionStorage.setItem("vl_utm", JSON.stringify(found));
      else found = JSON.parse(sessionStorage.getItem("vl_utm") || "{}");
    } catch (e) { /* storage blocked: use this page's parameters only */ }
    return found;
  }

  function send(data) {
    data.k = key;
    data.aid = aid;
    var body = JSON.stringify(data), url = base + "/t/collect";
    // text/plain keeps the request "simple": no CORS preflight, and sendBeacon accepts it.
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], {type: "text/plain"}))) return;
    if (window.fetch) {
      fetch(url, {method: "POST", body: body, keepalive: true, mode: "no-cors",
                  headers: {"Content-Type": "text/plain"}});
    }
  }

  var aid = anonymousId();
  var utm = campaign();
  var pageId = uid();
  var visibleMs = 0, visibleSince = document.visibilityState === "visible" ? Date.now() : null;

  function hit(type, extra) {
    var data = {t: type, url: location.href.slice(0, 2048), title: document.title.slice(0, 300)};
    UTM.forEach(function (name) { if (utm[name]) data[name] = utm[name]; });
    for (var name in extra) data[name] = extra[name];
    send(data);
  }

  function leave() {
    if (visibleSince !== null) { visibleMs += Date.now() - visibleSince; visibleSince = null; }
    send({t: "page_leave", id: pageId, d: Math.round(visibleMs / 1000)});
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leave();
    else if (visibleSince === null) visibleSince = Date.now();
  });
  window.addEventListener("pagehide", function () { if (visibleSince !== null) leave(); });

  function fillForms() {
    var forms = document.querySelectorAll("form[action*='/t/form/']");
    Array.prototype.forEach.call(forms, function (form) {
      var values = {vl_url: location.href.slice(0, 2048)};
      UTM.forEach(function (name) { if (utm[name]) values[name] = utm[name]; });
      for (var name in values) {
        var input = form.querySelector("input[name='" + name + "']");
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = name;
          form.appendChild(input);
        }
        input.value = values[name];
      }
    });
  }

  var queued = Array.isArray(window.volano) ? window.volano : [];
  window.volano = {
    loaded: true,
    anonymousId: aid,
    track: function (type, properties) { hit(String(type), {p: properties || {}}); }
  };

  hit("page_view", {id: pageId, ref: document.referrer.slice(0, 2048)});
  queued.forEach(function (call) { window.volano.track(call[0], call[1]); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fillForms);
  else fillForms();
})();
