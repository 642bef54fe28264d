/*
 * The page-side part of the coverage maps: draws the payload of coverage.maps.payload.map_payload.
 *
 * This project's own code (no third-party JavaScript is copied here); it runs on Leaflet and, for
 * clustering, Leaflet.markercluster, written beside the map (folder lib) or inlined in it. The page calls
 * safetynetDraw(map, payload, tiles) once, after folium has made the map and its tile layers; the
 * payload is the JSON text of the page's script element of type application/json, id sn-payload.
 *
 * The script inserts into the page only the HTML fragments of the payload, which
 * coverage.maps.payload and coverage.maps.population built from escaped text, and numbers of the
 * payload that it formats itself (population figures, distances, priority scores).
 *
 * folium renders the page's script text as a Jinja template: this file never contains a brace
 * followed by another brace, a percent sign or a hash sign (tests/test_maps_render.py checks).
 */
/* exported safetynetDraw */
function safetynetDraw(map, D, tiles) {
  "use strict";
  var q = D.q, cats = D.cats, towns = D.towns, villages = D.villages, T = D.travel || null;

  function ring(r) {
    var x = 0, y = 0, out = new Array(r.length / 2);
    for (var i = 0, j = 0; i < r.length; i += 2, j++) { x += r[i]; y += r[i + 1]; out[j] = [y / q, x / q]; }
    return out;
  }
  function decode(g) { return g.map(function (p) { return p.map(ring); }); }
  // Population figures (numbers from the payload, formatted here; labels and names are escaped text).
  function num(n) { return n === null || n === undefined ? "—" : n.toLocaleString("en-US"); }
  function km(x) { return x === null || x === undefined ? "—" : x.toFixed(1); }
  function share(p) {
    if (p === null) { return "—"; }
    return p > 0 && p < 1 ? "&lt;1%" : p > 99 && p < 100 ? "&gt;99%" : Math.round(p) + "%";
  }
  function withPopulation(t) {
    var P = D.pop, head = "", flags = [], info = [], html = t.t;
    if (P && t.pp !== undefined) {
      head += '<div class="sn-people">人口：' + (t.pp === null ? "人口資料未含此鄉鎮市區" : P.label + " " + num(t.pp) +
        " 人" + (t.pt !== undefined && t.pt !== null ? "・總人口 " + num(t.pt) + " 人" : "")) + "</div>";
    }
    if (t.rf && t.rf[0]) { flags.push("偏遠"); }
    if (t.rf && t.rf[1]) { flags.push("山區"); }
    if (flags.length) { head += '<div class="sn-flags sn-computed">計算：' + flags.join("、") + "</div>"; }
    if (t.dn !== undefined) { info.push("人口密度 " + num(t.dn) + " 人/km²"); }
    if (t.el !== undefined) { info.push("平均海拔 " + num(t.el) + " m"); }
    if (info.length) { head += '<div class="sn-calc">' + info.join("・") + "</div>"; }
    var k = html.indexOf("<table>");
    if (k < 0) { return html; }
    html = html.slice(0, k) + head + "<table>" + (t.ac ? '<tr class="sn-th"><td></td><td>據點</td><td>' + P.km +
      " km 內人口</td><td>最近據點 平均／最遠 km</td><td>2SFCA／萬人</td></tr>" : "") + html.slice(k + 7);
    (t.ac || []).forEach(function (a, i) {
      if (!a) { return; }
      var dist = a[1] !== null ? km(a[1]) + "／" + km(a[2]) :
        a[5] !== null ? "同島無據點；跨海 " + km(a[5]) : "無此類據點";
      var cells = "<td>" + share(a[0]) + "</td><td>" + dist + "</td><td>" + a[4].toFixed(2) + "</td>";
      var near = a[3] < 0 ? "" : '<tr class="sn-r' + i + ' sn-sub"><td></td><td colspan="4" class="sn-near">最近：' +
        D.names[a[3]] + "</td></tr>";
      var row = html.indexOf('<tr class="sn-r' + i + '">'), end = row < 0 ? -1 : html.indexOf("</tr>", row);
      if (end < 0) { return; }
      html = html.slice(0, end) + cells + "</tr>" + near + html.slice(end + 5);
    });
    return html;
  }
  // Minutes by road (payload numbers): per programme, a row under its own with the mean and max of the villages.
  function mins(x) { return x === null || x === undefined ? "—" : x.toFixed(1); }
  function withMinutes(t) {
    var html = t.t;
    t.tm.forEach(function (a, i) {
      if (!a) { return; }
      var text = a[0] === null ? "道路：" + a[3] + " 村里皆無行車時間" :
        "道路：平均 " + mins(a[0]) + "／最遠 " + mins(a[1]) + " 分鐘" + (T.weighted ? "（人口加權）" : "（村里平均）") +
        (a[2] ? "・" + a[2] + " 村里無行車時間" : "");
      var row = html.indexOf('<tr class="sn-r' + i + '">'), end = row < 0 ? -1 : html.indexOf("</tr>", row);
      if (end < 0) { return; }
      html = html.slice(0, end + 5) + '<tr class="sn-r' + i + ' sn-sub"><td></td><td colspan="4" class="sn-min">' +
        text + "</td></tr>" + html.slice(end + 5);
    });
    return html;
  }
  towns.forEach(function (t, i) {
    t.ll = decode(t.g); delete t.g; t.ti = i;
    if (D.pop || t.rf) { t.t = withPopulation(t); }
    if (t.tm) { t.t = withMinutes(t); }
  });
  var units = towns;
  if (villages) {
    villages.forEach(function (v) {
      var t = towns[v.i];
      v.ll = decode(v.g); delete v.g; v.s = t.s; v.ti = v.i;
      // village population (payload numbers only; the age-group label is escaped text)
      var people = v.p === undefined ? "" : '<div class="sn-people">村里人口：' + D.pop.label + " " +
        v.p.toLocaleString("en-US") + " 人</div>";
      v.t = '<div class="sn-tt"><b>' + v.n + '</b>' + people + '</div>' + t.t;
    });
    units = villages;
  }
  // Siting maps: recommended new sites, and the fill of their category 現況 (mode 0) or 新增後 (mode 1).
  var S = D.sites || null, mode = 0;
  function stateOf(i, u) { return S && mode === 1 && i === S.k ? S.after[u.ti] : +u.s.charAt(i); }

  map.setMinZoom(5);
  map.setMaxZoom(19);  // without a tile layer Leaflet has none, and marker clusters need one
  map.createPane("snRadius").style.zIndex = 430;
  map.createPane("snOutline").style.zIndex = 440;
  map.createPane("snGaps").style.zIndex = 450;
  map.createPane("snLabels").style.zIndex = 460;
  if (D.areas) { map.createPane("snAreas").style.zIndex = 455; }  // above the red gap outlines
  if (T && T.v) { map.createPane("snTravel").style.zIndex = 420; }

  function control(position, html, cls) {
    var c = L.control({position: position});
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "sn-box " + cls);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    return c.addTo(map);
  }
  var title = control("topleft", D.ui.title, "sn-title");
  if (S) {
    control("topleft", S.toggle, "sn-modebox").getContainer().addEventListener("change", function (e) {
      if (e.target.name === "sn-mode") { setMode(+e.target.value); }
    });
  }
  L.control.zoom({position: "topleft", zoomInTitle: "放大", zoomOutTitle: "縮小"}).addTo(map);
  L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);
  var legend = control("bottomright", D.ui.legend, "sn-legend");
  map.attributionControl.addAttribution(D.ui.attribution);

  if (window.innerWidth < 900) { legend.getContainer().querySelector("details").open = false; }

  var groups = [], fills = [], markers = [], gapLayers = [], gapsAfter = null, icons = {};
  function gapWeight() { return map.getZoom() < 9 ? 1.5 : 3; }  // heavy red borders, lighter nationwide
  map.on("zoomend", function () {
    gapLayers.concat([gapsAfter]).forEach(function (g) { if (g) { g.setStyle({weight: gapWeight()}); } });
  });
  var gaps = L.layerGroup(), active = -1;

  function icon(i, f) {
    var cls = "sn-marker sn-cat-" + i + (f.x ? " sn-approx" : "") + (f.pl ? " sn-planned" : "");
    if (!icons[cls]) {
      icons[cls] = L.divIcon({html: cats[i].icon, className: cls, iconSize: [24, 34], iconAnchor: [12, 33],
                              popupAnchor: [0, -30], tooltipAnchor: [10, -18]});
    }
    return icons[cls];
  }
  function clusterIcon(i) {
    return function (cluster) {
      return L.divIcon({html: '<div style="background:' + cats[i].colour + '">' + cluster.getChildCount() + "</div>",
                        className: "sn-cluster sn-cat-" + i, iconSize: [30, 30]});
    };
  }
  function gapGroup(i, after) {
    var gap = L.featureGroup();
    towns.forEach(function (t) {
      var st = after ? S.after[t.ti] : +t.s.charAt(i);
      if (st === 1 || st === 2) {  // 0 covered, 3 no data: neither is a gap
        L.polygon(t.ll, {pane: "snGaps", color: D.gapColour, weight: gapWeight(), fill: false, interactive: false,
                         className: "sn-gap"}).addTo(gap);
      }
    });
    return gap;
  }
  function tooltipOf(i, u) {
    return function () {
      var when = S && i === S.k ? (mode ? "（新增後）" : "（現況）") : "";
      var near = !u.d ? "" : '<div class="sn-vnear">村里至最近' + cats[i].label + "：" +
        (u.d[i] === null ? "同島無據點" : u.d[i].toFixed(1) + " km") + "</div>";
      var partial = towns[u.ti].dq.charAt(i) === "p" ? '<div class="sn-partial">' + D.ui.partial + "</div>" : "";
      return u.t + '<div class="sn-state">' + cats[i].label + when + "：" + D.stateLabels[stateOf(i, u)] + "</div>" +
        partial + near;
    };
  }
  function build(i) {
    if (fills[i]) { return; }
    var fill = L.featureGroup();
    units.forEach(function (u) {
      var st = stateOf(i, u);
      var poly = L.polygon(u.ll, {color: villages ? "#8a8a8a" : "#555", weight: villages ? 0.3 : 0.7,
                                  fillColor: D.colours[st], fillOpacity: 0.6, className: "sn-fill sn-state-" + st})
        .bindTooltip(tooltipOf(i, u), {sticky: true, className: "sn-tooltip"})
        .addTo(fill);
      poly.snUnit = u;
    });
    var gap = gapGroup(i, false);
    var mk = L.markerClusterGroup ?
      L.markerClusterGroup({maxClusterRadius: D.clusterRadius, showCoverageOnHover: false,
                            spiderfyOnMaxZoom: true, iconCreateFunction: clusterIcon(i)}) : L.featureGroup();
    D.fac.forEach(function (f) {
      if (f.k === i) {
        var marker = L.marker(f.a, {icon: icon(i, f), riseOnHover: true}).bindPopup(f.p).bindTooltip(f.n);
        if (f.ar !== undefined) {  // its popup highlights its service area
          marker.on("popupopen", function () { highlightArea(f.ar); });
          marker.on("popupclose", function () { highlightArea(-1); });
        }
        mk.addLayer(marker);
      }
    });
    fills[i] = fill; gapLayers[i] = gap; markers[i] = mk;
  }
  // National figures of a programme whose data is not complete everywhere count the complete counties only.
  function completeNote(c) { return "（" + c.cc + " 縣市完整資料，共 " + c.cn + " 縣市）"; }
  function subtitle(i) {
    var c = S && mode === 1 && i === S.k ? S : cats[i];
    if (c === cats[i] && c.data === "none") { return c.label + "：" + D.stateLabels[3]; }
    if (c === cats[i] && c.cc === 0) { return c.label + "：無縣市有完整資料，不計全國涵蓋率（部分資料）"; }
    return cats[i].label + (c === S ? "（新增後）" : "") + "：涵蓋 " + c.covered + "/" + c.total + " 鄉鎮市區（" +
      c.rate.toFixed(1) + "%）" + (c === cats[i] && c.cc !== undefined ? completeNote(c) : "") +
      (c.gaps ? "，缺口 " + c.gaps + (c.flaggedGaps ? "（特殊地區 " + c.flaggedGaps + "）" : "") : "") +
      (cats[i].data === "partial" && c.cc === undefined ? "・部分資料" : "");
  }
  function gapsFor(i) {
    if (S && mode === 1 && i === S.k) { return gapsAfter || (gapsAfter = gapGroup(i, true)); }
    return gapLayers[i];
  }
  function activate(i) {
    build(i);
    groups.forEach(function (g, j) { if (j !== i && map.hasLayer(g)) { map.removeLayer(g); } });
    groups[i].addLayer(fills[i]);
    groups[i].addLayer(markers[i]);
    gaps.clearLayers();
    gaps.addLayer(gapsFor(i));
    active = i;
    drawPriorities(i);
    drawAreas(i);
    drawTravel(i);
    var box = title.getContainer();
    box.querySelector(".sn-sub").innerHTML = subtitle(i);
    legend.getContainer().querySelector(".sn-active-label").innerHTML = cats[i].label;
    var el = map.getContainer();
    el.className = el.className.replace(/ ?sn-active-\d+/g, "") + " sn-active-" + i;
  }
  function deactivate(i) {
    if (active !== i) { return; }
    gaps.clearLayers();
    drawPriorities(-1);
    drawAreas(-1);
    drawTravel(-1);
    active = -1;
    title.getContainer().querySelector(".sn-sub").innerHTML = "（未選擇服務類別）";
  }

  var overlays = {};
  cats.forEach(function (c, i) {
    var g = L.featureGroup();
    g.on("add", function () { activate(i); });
    g.on("remove", function () { deactivate(i); });
    groups.push(g);
    var figure = c.data === "none" ? "無資料" : c.cc === 0 ? "部分資料" : c.cc !== undefined ?
      c.rate.toFixed(1) + "%（" + c.cc + " 縣市完整資料）" :
      c.covered + "/" + c.total + "（" + c.rate.toFixed(1) + "%）" + (c.data === "partial" ? " 部分資料" : "");
    overlays['<span class="sn-layer sn-data-' + c.data + '" data-cat="' + i + '">' + c.icon + " " + c.label +
             " <small>" + figure + "</small></span>"] = g;
  });
  overlays['<span class="sn-layer" data-layer="gaps"><i class="sn-sw sn-sw-gap"></i>缺口：未涵蓋鄉鎮市區</span>'] =
    gaps;
  var outlines = null;
  if (villages) {
    outlines = L.featureGroup();
    towns.forEach(function (t) {
      L.polygon(t.ll, {pane: "snOutline", color: "#333", weight: 1.2, fill: false, interactive: false,
                       className: "sn-outline"}).addTo(outlines);
    });
    overlays['<span class="sn-layer" data-layer="outlines"><i class="sn-sw sn-sw-line"></i>鄉鎮市區界</span>'] =
      outlines;
  }

  // 優先補點: the ranked gap townships of the shown programme, numbered badges at representative points.
  var P = D.prio || null, prio = null;
  if (P) {
    prio = L.featureGroup();
    overlays[P.layer] = prio;
  }
  function drawPriorities(i) {
    if (!prio) { return; }
    prio.clearLayers();
    (i >= 0 ? P.items[i] : []).forEach(function (p) {
      var state = p.u ? "已設點，但平均距離超過 " + D.pop.km + " km" : "未設點";
      var tip = '<div class="sn-tt"><b>優先補點 第 ' + p.r + " 順位</b>：" + p.n + "<div>" + cats[i].label + "</div>" +
        "<table><tr><td>優先分數</td><td>" + num(p.s) + "</td></tr><tr><td>受影響人口</td><td>" + num(p.p) + " 人（" +
        D.pop.label + "）</td></tr><tr><td>平均最近距離</td><td>" +
        (p.d === null ? "—" : km(p.d) + " km（最遠 " + km(p.m) + " km）") + "</td></tr><tr><td>狀態</td><td>" + state +
        '</td></tr></table><div class="sn-reasons">' + p.w + "</div></div>";
      L.marker(p.a, {icon: L.divIcon({html: '<span class="sn-prio sn-prio-' + p.c + '">' + p.r + "</span>",
                                      className: "sn-prio-marker sn-prio-rank-" + p.r, iconSize: [26, 26],
                                      iconAnchor: [13, 13], tooltipAnchor: [13, 0]}),
                     zIndexOffset: 2000 - p.r, riseOnHover: true, keyboard: false})
        .bindTooltip(tip, {className: "sn-tooltip sn-prio-tooltip", direction: "right"})
        .addTo(prio);
    });
  }

  // 服務區域: the catchment of each point of the shown programme, outlined in its own colour (dashed: a township
  // served only in part, its villages not named); hovering an outline names the point. A catchment lists the
  // map's polygons it is made of; its outline is their edges that no two of them share (neighbours share edges).
  var A = D.areas || null, areas = null, areaShapes = [], areaLit = null;
  function areaPolygons(a) {
    var polys = [];
    a.ti.forEach(function (i) { polys = polys.concat(towns[i].ll); });
    a.vi.forEach(function (j) { polys = polys.concat(villages[j].ll); });
    return polys.concat(decode(a.g));
  }
  function outerEdges(polys) {
    var seen = {}, keys = [];
    polys.forEach(function (poly) {
      poly.forEach(function (r) {
        for (var k = 0; k < r.length; k++) {
          var a = r[k], b = r[(k + 1) % r.length];
          var key = a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]) ? a + "|" + b : b + "|" + a;
          if (seen[key]) { seen[key].n += 1; } else { seen[key] = {n: 1, s: [a, b]}; keys.push(key); }
        }
      });
    });
    return keys.filter(function (k) { return seen[k].n === 1; }).map(function (k) { return seen[k].s; });
  }
  function areaShape(a, j, lit) {
    var g = L.featureGroup(), polys = areaPolygons(a), part = [];
    a.tp.forEach(function (i) { part = part.concat(towns[i].ll); });
    part = part.concat(decode(a.gp));
    if (lit) {  // the highlight of a popup: the area filled, under a heavier outline
      L.polygon(polys.concat(part), {pane: "snAreas", stroke: false, fillColor: a.c, fillOpacity: 0.18,
                                     interactive: false, className: "sn-area-lit sn-area-" + j}).addTo(g);
    }
    var style = {pane: "snAreas", color: a.c, weight: lit ? 5 : 3, interactive: !lit};
    var cls = (lit ? "sn-area-lit sn-area-line" : "sn-area") + " sn-area-" + j, lines = [];
    if (polys.length) { lines.push(L.polyline(outerEdges(polys), L.extend({className: cls}, style))); }
    if (part.length) {
      lines.push(L.polygon(part, L.extend({fill: false, dashArray: "7 5", className: cls + " sn-area-part"}, style)));
    }
    lines.forEach(function (line) {
      if (!lit) { line.bindTooltip(a.t, {sticky: true, className: "sn-tooltip sn-area-tooltip"}); }
      line.addTo(g);
    });
    return g;
  }
  if (A) {
    A.forEach(function (a, j) { areaShapes.push(areaShape(a, j, false)); });
    areas = L.featureGroup();
    overlays[D.areaLayer] = areas;
  }
  function drawAreas(i) {
    if (!areas) { return; }
    areas.clearLayers();
    A.forEach(function (a, j) { if (a.k === i) { areas.addLayer(areaShapes[j]); } });
  }
  function highlightArea(j) {
    if (areaLit) { map.removeLayer(areaLit); areaLit = null; }
    if (j >= 0 && A) { areaLit = areaShape(A[j], j, true).addTo(map); }
  }

  // 行車時間（村里）: villages coloured by the minutes by road to the nearest point of the shown programme.
  var travel = null;
  function minuteClass(m) {
    if (m === null) { return T.colours.length - 1; }
    for (var b = 0; b < T.bins.length; b++) { if (m <= T.bins[b]) { return b; } }
    return T.bins.length;
  }
  function placeOf(v) { return (v.i >= 0 ? towns[v.i].n + " " : "") + v.n; }
  function travelPopup(v) {
    var rows = cats.map(function (c, i) {
      var m = v.m[i], what = m === null ? (v.r[i] >= 0 ? T.reasons[v.r[i]] : "—") :
        mins(m) + " 分鐘・道路 " + km(v.km[i]) + " km・離路 " + (v.sk[i] === null ? "—" : v.sk[i].toFixed(2)) + " km" +
        (v.f[i] >= 0 ? "<br>最近：" + T.names[v.f[i]] : "");
      return '<tr class="sn-r' + i + '"><th>' + c.label + "</th><td>" + what + "</td></tr>";
    });
    return '<div class="sn-pop sn-tmin"><b>' + placeOf(v) + "</b><div>道路行車時間至最近據點</div><table>" +
      rows.join("") + '</table><div class="sn-note">離路：村里代表點至道路、道路至據點的直線段</div></div>';
  }
  function drawTravel(i) {
    if (!travel || !map.hasLayer(travel)) { return; }
    travel.clearLayers();
    if (i < 0) { return; }
    T.v.forEach(function (v) {
      var c = minuteClass(v.m[i]);
      L.polygon(v.ll, {pane: "snTravel", color: "#666", weight: 0.3, fillColor: T.colours[c], fillOpacity: 0.8,
                       className: "sn-tfill sn-tclass-" + c})
        .bindTooltip(function () {
          return '<div class="sn-tt"><b>' + placeOf(v) + "</b><div>" + cats[i].label + "：" +
            (v.m[i] === null ? (v.r[i] >= 0 ? T.reasons[v.r[i]] : "—") : mins(v.m[i]) + " 分鐘（道路）") + "</div></div>";
        }, {sticky: true, className: "sn-tooltip"})
        .bindPopup(function () { return travelPopup(v); })
        .addTo(travel);
    });
  }
  if (T && T.v) {
    T.v.forEach(function (v, j) { v.ll = v.g ? decode(v.g) : villages[j].ll; delete v.g; });
    travel = L.featureGroup();
    travel.on("add", function () { map.getContainer().classList.add("sn-travel-on"); drawTravel(active); });
    travel.on("remove", function () { map.getContainer().classList.remove("sn-travel-on"); });
    overlays[T.layer] = travel;
  }

  var sites = null, radii = null;
  if (S) {
    sites = L.featureGroup();
    radii = L.featureGroup();
    D.fac.forEach(function (f) {
      if (f.k === S.k && !f.pl) {
        L.circle(f.a, {radius: S.radius, pane: "snRadius", color: "#555", weight: 1, dashArray: "4 4", fill: false,
                       interactive: false, className: "sn-radius sn-radius-existing"}).addTo(radii);
      }
    });
    S.items.forEach(function (s) {
      L.circle(s.a, {radius: S.radius, pane: "snRadius", color: "#d7301f", weight: 2, fillColor: "#d7301f",
                     fillOpacity: 0.08, interactive: false, className: "sn-radius sn-radius-site"}).addTo(radii);
      var cls = "sn-site" + (s.nc ? " sn-site-new" : "");
      L.marker(s.a, {icon: L.divIcon({html: '<span class="' + cls + '">' + s.r + "</span>",
                                      className: "sn-site-marker sn-site-" + s.r, iconSize: [26, 26],
                                      iconAnchor: [13, 13], popupAnchor: [0, -12], tooltipAnchor: [13, 0]}),
                     zIndexOffset: 1000 - s.r, riseOnHover: true, title: "建議點 " + s.r})
        .bindPopup(s.p).bindTooltip(s.t, {className: "sn-tooltip sn-site-tooltip", direction: "right"})
        .addTo(sites);
    });
    overlays[S.layer] = sites;
    overlays[S.radiusLayer] = radii;
  }

  // Township names: one label per township at a point inside it, above the fills and gap outlines.
  // Where labels would overlap, the larger township keeps its label; the others hide until zoomed in.
  var labels = L.featureGroup(), labelMarkers = [];
  function extent(t) {
    var s = 0;
    t.ll.forEach(function (part) {
      var r = part[0], a = 90, b = -90, c = 180, d = -180;
      r.forEach(function (p) { a = Math.min(a, p[0]); b = Math.max(b, p[0]); c = Math.min(c, p[1]); d = Math.max(d, p[1]); });
      s += (b - a) * (d - c);
    });
    return s;
  }
  towns.map(function (t) { return [extent(t), t]; }).sort(function (x, y) { return y[0] - x[0]; }).forEach(function (e) {
    var t = e[1];
    labelMarkers.push(L.marker(t.lp, {icon: L.divIcon({html: "<span>" + t.n + "</span>", className: "sn-label",
                                                       iconSize: null}),
                                      pane: "snLabels", interactive: false, keyboard: false}).addTo(labels));
  });
  function declutter() {
    if (!map.hasLayer(labels)) { return; }
    var shown = [], few = !D.county && map.getZoom() < 9;  // nationwide, names only from zoom 9
    labelMarkers.forEach(function (m) {
      var el = m.getElement();
      if (!el) { return; }
      el.classList.remove("sn-label-hidden");
      var r = el.firstChild.getBoundingClientRect(), clash = few || shown.some(function (o) {
        return r.left < o.right + 2 && o.left < r.right + 2 && r.top < o.bottom && o.top < r.bottom;
      });
      if (clash) { el.classList.add("sn-label-hidden"); } else { shown.push(r); }
    });
  }
  map.on("zoomend", declutter);
  labels.on("add", function () { window.setTimeout(declutter, 0); });
  overlays['<span class="sn-layer" data-layer="labels"><i class="sn-sw sn-sw-label">名</i>鄉鎮市區名稱</span>'] =
    labels;

  // The basemaps: folium's tile layers (label → layer, in the layer control's order), then "none".
  var bases = {};
  Object.keys(tiles).forEach(function (k) { bases[k] = tiles[k]; });
  bases[D.ui.noBasemap] = L.layerGroup();
  if (D.ui.noBasemapShown) { bases[D.ui.noBasemap].addTo(map); }
  // Only the basemap tiles come from the network: when they fail, say so once (the rest is local).
  var tileNote = null;
  Object.keys(bases).forEach(function (k) {
    if (!(bases[k] instanceof L.TileLayer)) { return; }
    bases[k].on("tileerror", function () {
      if (!tileNote) { tileNote = control("bottomleft", D.ui.tileNote, "sn-tile-note"); }
    });
  });
  var layers = L.control.layers(bases, overlays, {collapsed: false, sortLayers: false}).addTo(map);
  // The layer panel folds to its heading (a button), on any window; folded from the start on narrow ones.
  var panel = layers.getContainer(), fold = L.DomUtil.create("button", "sn-fold");
  fold.type = "button";
  fold.innerHTML = D.ui.layersHeading;
  panel.insertBefore(fold, panel.firstChild);
  function setFolded(f) {
    panel.classList.toggle("sn-folded", f);
    fold.setAttribute("aria-expanded", f ? "false" : "true");
  }
  fold.addEventListener("click", function () { setFolded(!panel.classList.contains("sn-folded")); });
  setFolded(window.innerWidth < 700);
  // One programme at a time: ticking one unticks the others before Leaflet reads the boxes.
  layers.getContainer().addEventListener("click", function (e) {
    var box = e.target;
    if (box.tagName !== "INPUT" || !box.checked) { return; }
    var mine = box.parentNode.querySelector(".sn-layer[data-cat]");
    if (!mine) { return; }
    layers.getContainer().querySelectorAll(".sn-layer[data-cat]").forEach(function (span) {
      if (span !== mine) { span.parentNode.parentNode.querySelector("input").checked = false; }
    });
  }, true);

  function setMode(m) {
    mode = m;
    var radio = map.getContainer().querySelector('input[name="sn-mode"][value="' + m + '"]');
    if (radio) { radio.checked = true; }
    var el = map.getContainer();
    el.className = el.className.replace(/ ?sn-mode-after/g, "") + (m ? " sn-mode-after" : "");
    if (!S || !fills[S.k]) { return; }
    fills[S.k].eachLayer(function (poly) {
      var st = stateOf(S.k, poly.snUnit), cls = "sn-fill sn-state-" + st, path = poly.getElement();
      poly.options.className = cls;
      poly.setStyle({fillColor: D.colours[st]});
      if (path) { path.setAttribute("class", path.getAttribute("class").replace(/sn-state-\d/, "sn-state-" + st)); }
    });
    if (active === S.k) { activate(S.k); }
  }
  var start = cats.map(function (c) { return c.key; }).indexOf(decodeURIComponent(location.hash.slice(1)));
  if (S && start < 0) { start = S.k; }
  gaps.addTo(map);
  if (outlines) { outlines.addTo(map); }
  if (radii) { radii.addTo(map); }
  if (sites) { sites.addTo(map); }
  if (prio && P.show) { prio.addTo(map); }
  if (D.county) { labels.addTo(map); }
  if (cats.length) { groups[start < 0 ? 0 : start].addTo(map); }
  // the national map opens on the main island; at once, not animated: a view set while the opening zoom still
  // animates would be ignored by Leaflet (and the animation would then land on this view, not on the later one)
  map.fitBounds(D.view || D.bounds, {padding: [8, 8], animate: false});

  window.safetynet = {map: map, groups: groups, fills: fills, markers: markers, gaps: gaps, cats: cats,
                      towns: towns, villages: villages, activate: function (i) { groups[i].addTo(map); },
                      active: function () { return active; }, sites: sites, radii: radii,
                      mode: function () { return mode; }, setMode: setMode, priorities: prio,
                      labels: labels, layerPanel: panel, setFolded: setFolded, areas: areas, travel: travel,
                      areaLit: function () { return areaLit; },
                      tileNote: function () { return tileNote ? tileNote.getContainer() : null; }};
}
