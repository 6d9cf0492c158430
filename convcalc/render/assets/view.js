// The convcalc model view: pan and zoom the diagram, search layers, show a node's details.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("convcalc-data").textContent);
  var box = document.getElementById("diagram");
  var svg = box.querySelector("svg");
  var details = document.getElementById("details");
  var search = document.getElementById("search");
  var status = document.getElementById("search-status");
  var full = svg.viewBox.baseVal;
  var view = { x: full.x, y: full.y, w: full.width, h: full.height };
  svg.removeAttribute("width");
  svg.removeAttribute("height");

  function apply() {
    svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
  }
  function fit() {
    view = { x: full.x, y: full.y, w: full.width, h: full.height };
    apply();
  }
  function start() {
    // a tall model (a ResNet) fitted whole is unreadable: show its top at a legible width
    var r = box.getBoundingClientRect();
    var boxAspect = r.height / Math.max(r.width, 1);
    var w = Math.max(full.width, 700);
    if (full.height / w > boxAspect * 2 && r.width > 0) {
      view = { x: full.x - (w - full.width) / 2, y: full.y, w: w, h: w * boxAspect };
      apply();
    } else {
      fit();
    }
  }
  function zoom(factor, cx, cy) {
    // cx, cy: the point (in diagram units) that stays where it is
    if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
    view.x = cx - (cx - view.x) * factor;
    view.y = cy - (cy - view.y) * factor;
    view.w *= factor;
    view.h *= factor;
    apply();
  }
  function toDiagram(evt) {
    var r = svg.getBoundingClientRect();
    var scale = Math.max(view.w / r.width, view.h / r.height);
    var offX = (r.width * scale - view.w) / 2, offY = (r.height * scale - view.h) / 2;
    return { x: view.x - offX + (evt.clientX - r.left) * scale,
             y: view.y - offY + (evt.clientY - r.top) * scale, scale: scale };
  }
  box.addEventListener("wheel", function (evt) {
    evt.preventDefault();
    var p = toDiagram(evt);
    zoom(evt.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
  }, { passive: false });
  var drag = null;
  box.addEventListener("mousedown", function (evt) {
    drag = { x: evt.clientX, y: evt.clientY, vx: view.x, vy: view.y, moved: false };
    box.classList.add("dragging");
  });
  window.addEventListener("mousemove", function (evt) {
    if (!drag) return;
    var scale = toDiagram(evt).scale;
    var dx = evt.clientX - drag.x, dy = evt.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.x = drag.vx - dx * scale;
    view.y = drag.vy - dy * scale;
    apply();
  });
  window.addEventListener("mouseup", function () {
    box.classList.remove("dragging");
    setTimeout(function () { drag = null; }, 0);
  });

  function nodeElement(id) {
    return document.getElementById(id);
  }
  function centerOn(el) {
    var b = el.getBBox();
    var ctm = el.getCTM && svg.getCTM ? el.getCTM() : null;
    var x = b.x + b.width / 2, y = b.y + b.height / 2;
    if (ctm && svg.getCTM()) {
      // node boxes sit inside Graphviz's translated top group
      var m = svg.getCTM().inverse().multiply(ctm);
      var px = m.a * x + m.c * y + m.e, py = m.b * x + m.d * y + m.f;
      x = px; y = py;
    }
    var w = Math.min(view.w, full.width), h = Math.min(view.h, full.height);
    if (w > 900) { h = h * 900 / w; w = 900; }
    view = { x: x - w / 2, y: y - h / 2, w: w, h: h };
    apply();
  }

  function text(s) { return document.createTextNode(s == null ? "" : String(s)); }
  function el(tag, cls, content) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (content !== undefined) e.appendChild(text(content));
    return e;
  }
  function row(table, key, value) {
    var tr = el("tr");
    tr.appendChild(el("td", null, key));
    tr.appendChild(el("td", null, value));
    table.appendChild(tr);
  }

  var selected = null;
  function select(id, center) {
    var info = data.nodes[id];
    if (!info) return;
    if (selected) {
      var old = nodeElement(selected);
      if (old) old.classList.remove("selected");
      var oldRow = document.querySelector('#summary tr[data-node="' + selected + '"]');
      if (oldRow) oldRow.classList.remove("selected");
    }
    selected = id;
    var g = nodeElement(id);
    if (g) {
      g.classList.add("selected");
      if (center) centerOn(g);
    }
    var tr = document.querySelector('#summary tr[data-node="' + id + '"]');
    if (tr) tr.classList.add("selected");
    show(info);
  }

  function show(info) {
    details.textContent = "";
    details.appendChild(el("h2", null, info.block || info.name));
    var t = el("table");
    if (info.also.length) {
      row(t, "stands for", info.also.length + " more layer" + (info.also.length === 1 ? "" : "s") +
          " (" + (info.block ? "a folded block" : "the same layer of each repeated block") + "): " +
          info.also.slice(0, 12).join(", ") + (info.also.length > 12 ? ", ..." : ""));
    }
    if (info.block) row(t, "last layer", info.name);
    row(t, "type", info.class_name + (info.call_index ? " (call " + info.call_index + ")" : ""));
    if (info.path.length) row(t, "inside", info.path.join(" / "));
    row(t, "input", info.inputs.join(", ") || "-");
    row(t, "output", info.outputs.join(", ") || "?");
    row(t, "params", info.params);
    row(t, "MACs", info.macs);
    row(t, "FLOPs", info.flops);
    if (info.receptive) row(t, "receptive field", info.receptive);
    row(t, "source", info.source || "-");
    details.appendChild(t);
    if (info.diagnostics.length) {
      details.appendChild(el("h3", null, "Diagnostics"));
      info.diagnostics.forEach(function (d) {
        var div = el("div", "diag " + d.severity, d.severity + " " + d.code + ": " + d.message);
        if (d.hint) { div.appendChild(el("br")); div.appendChild(el("span", "hint", "hint: " + d.hint)); }
        details.appendChild(div);
      });
    }
    if (info.source_line) {
      details.appendChild(el("h3", null, "Source line"));
      details.appendChild(el("pre", null, info.source_line));
    }
    details.appendChild(el("h3", null, "How it is computed"));
    details.appendChild(el("pre", "explain", info.explanation));
    details.appendChild(el("h3", null, "Config"));
    details.appendChild(el("pre", null, JSON.stringify(info.config, null, 2)));
  }

  Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (g) {
    g.addEventListener("click", function (evt) {
      if (drag && drag.moved) return;
      evt.stopPropagation();
      select(g.id, false);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("#summary tr[data-node]"), function (tr) {
    tr.addEventListener("click", function () { select(tr.getAttribute("data-node"), true); });
  });

  function runSearch() {
    var q = search.value.trim().toLowerCase();
    var hits = [];
    Object.keys(data.nodes).forEach(function (id) {
      var g = nodeElement(id);
      var info = data.nodes[id];
      var names = [info.name, info.class_name, info.block].concat(info.also);
      var hit = q !== "" && names.some(function (n) { return n.toLowerCase().indexOf(q) >= 0; });
      if (g) g.classList.toggle("match", hit);
      if (hit) hits.push(id);
    });
    status.textContent = q === "" ? "" : hits.length + " match" + (hits.length === 1 ? "" : "es");
    var exact = hits.filter(function (id) {
      var info = data.nodes[id];
      return [info.name].concat(info.also).some(function (n) { return n.toLowerCase() === q; });
    });
    if (hits.length) select((exact.length ? exact : hits)[0], true);
  }
  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", function (evt) { if (evt.key === "Enter") runSearch(); });
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1 / 1.3); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(1.3); });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  start();
})();
