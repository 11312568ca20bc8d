/* The web diary's one script: no library, no other origin.
 *
 * In Telegram the page is a Mini App: Telegram puts its launch parameters in the
 * address's fragment (tgWebAppData: the signed initData; tgWebAppThemeParams: the
 * theme's colours). The signed data is sent to the server once for a session cookie
 * (HttpOnly: this script never sees it); the colours become CSS variables. Opened
 * from a one-time link (Viber, the console) the session cookie is already set.
 * Every word comes from the server, in the account's language; every text is set as
 * text (never as HTML). The charts are SVG drawn here from the server's JSON.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var THEME = {
    bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
    button_color: "--button", button_text_color: "--button-text", secondary_bg_color: "--secondary-bg"
  };
  var state = { strings: {}, pupils: [], ref: null, month: null };

  function $(id) { return document.getElementById(id); }

  function el(name, attrs, text) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function svg(name, attrs) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    return node;
  }

  function s(key) { return state.strings[key] || key; }

  function launchParams() {
    return new URLSearchParams(location.hash.slice(1));
  }

  function applyTheme(params) {
    var raw = params.get("tgWebAppThemeParams");
    if (!raw) { return; }
    var theme;
    try { theme = JSON.parse(raw); } catch (e) { return; }
    var root = document.documentElement;
    Object.keys(THEME).forEach(function (key) {
      var value = theme && theme[key];
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.style.setProperty(THEME[key], value);
      }
    });
    root.classList.add("tg-theme");
  }

  function telegramEvent(name) {
    /* What telegram-web-app.js would post: the page is ready, may take the full height. */
    try {
      if (window.TelegramWebviewProxy && window.TelegramWebviewProxy.postEvent) {
        window.TelegramWebviewProxy.postEvent(name, "{}");
      } else if (window.parent && window.parent !== window) {
        window.parent.postMessage(JSON.stringify({ eventType: name, eventData: {} }), "*");
      }
    } catch (e) { /* not in Telegram */ }
  }

  function status(text, error) {
    var node = $("status");
    node.textContent = text || "";
    node.hidden = !text;
    node.className = error ? "status error" : "status";
    if (error) { node.setAttribute("role", "alert"); }
  }

  async function fetchJSON(url, options) {
    var response = await fetch(url, Object.assign({ credentials: "same-origin", cache: "no-store" }, options || {}));
    var body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      var error = new Error((body && body.message) || "");
      error.status = response.status;
      throw error;
    }
    return body;
  }

  // ------------------------------------------------------------------ grades

  function chart(subject, span) {
    var width = 320, height = 150, left = 26, right = 10, top = 10, bottom = 22;
    var first = span[0], last = span[1];
    function x(day) {
      var t = Date.parse(day);
      if (last === first) { return left + (width - left - right) / 2; }
      return left + (t - first) / (last - first) * (width - left - right);
    }
    function y(value) { return top + (12 - value) / 11 * (height - top - bottom); }
    var label = subject.subject + ": " + subject.grades.map(function (g) {
      return g.label + " — " + g.value;
    }).join(", ");
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, "class": "chart", role: "img",
      "aria-label": label, "data-subject": subject.subject });
    [1, 4, 7, 10, 12].forEach(function (value) {
      root.appendChild(svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), "class": "grid" }));
      var text = svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", "class": "axis" });
      text.textContent = String(value);
      root.appendChild(text);
    });
    if (subject.class_average !== null) {
      root.appendChild(svg("line", { x1: left, x2: width - right, y1: y(subject.class_average),
        y2: y(subject.class_average), "class": "class-avg" }));
    }
    root.appendChild(svg("line", { x1: left, x2: width - right, y1: y(subject.average),
      y2: y(subject.average), "class": "avg" }));
    var points = subject.grades.map(function (g) { return x(g.date) + "," + y(g.value); });
    if (points.length > 1) {
      root.appendChild(svg("polyline", { points: points.join(" "), "class": "trend" }));
    }
    subject.grades.forEach(function (g) {
      var dot = svg("circle", { cx: x(g.date), cy: y(g.value), r: 5, "class": "point",
        "data-value": g.value, "data-date": g.date });
      var title = svg("title");
      title.textContent = g.label + ": " + g.value + (g.kind ? " (" + g.kind + ")" : "");
      dot.appendChild(title);
      root.appendChild(dot);
    });
    var edge = svg("text", { x: left, y: height - 6, "class": "axis" });
    edge.textContent = span[2];
    root.appendChild(edge);
    if (last !== first) {
      var end = svg("text", { x: width - right, y: height - 6, "text-anchor": "end", "class": "axis" });
      end.textContent = span[3];
      root.appendChild(end);
    }
    return root;
  }

  function renderGrades(data) {
    var box = $("grades");
    box.textContent = "";
    $("term").textContent = data.term.title;
    if (!data.subjects.length) {
      box.appendChild(el("p", { "class": "hint" }, s("no_grades")));
      return;
    }
    /* Every subject's chart spans the same days: [first, last, their labels]. */
    var span = [Infinity, -Infinity, "", ""];
    data.subjects.forEach(function (subject) {
      subject.grades.forEach(function (g) {
        var day = Date.parse(g.date);
        if (day < span[0]) { span[0] = day; span[2] = g.label; }
        if (day > span[1]) { span[1] = day; span[3] = g.label; }
      });
    });
    data.subjects.forEach(function (subject) {
      var card = el("article", { "class": "subject" });
      card.appendChild(el("h3", {}, subject.subject));
      var averages = el("p", { "class": "averages" });
      averages.appendChild(el("span", { "class": "mine" }, s("average") + " " + subject.average_label));
      if (subject.class_average_label) {
        averages.appendChild(document.createTextNode(" · "));
        averages.appendChild(el("span", { "class": "theirs" }, s("class_average") + " " + subject.class_average_label));
      }
      card.appendChild(averages);
      card.appendChild(chart(subject, span));
      var details = el("details");
      details.appendChild(el("summary", {}, s("grade_list")));
      var table = el("table");
      var head = el("tr");
      head.appendChild(el("th", { scope: "col" }, s("date")));
      head.appendChild(el("th", { scope: "col" }, s("grade")));
      table.appendChild(head);
      subject.grades.forEach(function (g) {
        var row = el("tr");
        row.appendChild(el("td", {}, g.label));
        row.appendChild(el("td", {}, g.value + (g.kind ? " (" + g.kind + ")" : "")));
        table.appendChild(row);
      });
      details.appendChild(table);
      card.appendChild(details);
      box.appendChild(card);
    });
  }

  // ------------------------------------------------------------------ attendance

  var WORST = ["absent", "late", "excused"];

  function renderCalendar(calendar) {
    var box = $("calendar");
    box.textContent = "";
    var head = el("div", { "class": "calendar-head" });
    var back = el("button", { type: "button", "aria-label": s("previous_month") }, "‹");
    var forward = el("button", { type: "button", "aria-label": s("next_month") }, "›");
    var title = el("h3", { id: "month-title" }, calendar.title);
    back.addEventListener("click", function () { load(state.ref, calendar.previous); });
    forward.addEventListener("click", function () { load(state.ref, calendar.next); });
    head.appendChild(back);
    head.appendChild(title);
    head.appendChild(forward);
    box.appendChild(head);

    var table = el("table", { "class": "calendar", "aria-labelledby": "month-title", "data-month": calendar.month });
    var names = el("tr");
    calendar.weekdays.forEach(function (name) { names.appendChild(el("th", { scope: "col" }, name)); });
    table.appendChild(names);
    var first = new Date(calendar.first + "T00:00:00");
    var lastDay = Number(calendar.last.slice(8, 10));
    var offset = (first.getDay() + 6) % 7;
    var row = el("tr");
    for (var blank = 0; blank < offset; blank++) { row.appendChild(el("td")); }
    for (var day = 1; day <= lastDay; day++) {
      var iso = calendar.month + "-" + (day < 10 ? "0" + day : String(day));
      var marks = calendar.days[iso] || [];
      var cell = el("td", { "data-date": iso });
      var number = el("span", { "class": "day" }, day);
      cell.appendChild(number);
      if (iso === calendar.today) { cell.classList.add("today"); cell.setAttribute("aria-current", "date"); }
      if (marks.length) {
        var statuses = marks.map(function (m) { return m.status; });
        var worst = WORST.filter(function (w) { return statuses.indexOf(w) >= 0; })[0];
        cell.classList.add(worst);
        cell.setAttribute("data-status", statuses.join(" "));
        var said = marks.map(function (m) { return s(m.status) + " — " + m.subject; }).join("; ");
        cell.appendChild(el("span", { "class": "visually-hidden" }, ": " + said));
        number.setAttribute("title", said);
      }
      row.appendChild(cell);
      if ((offset + day) % 7 === 0) { table.appendChild(row); row = el("tr"); }
    }
    if (row.childNodes.length) { table.appendChild(row); }
    box.appendChild(table);

    var legend = el("ul", { "class": "legend" });
    WORST.forEach(function (name) {
      var item = el("li", { "class": name });
      item.appendChild(el("span", { "class": "swatch", "aria-hidden": "true" }));
      item.appendChild(document.createTextNode(s(name)));
      legend.appendChild(item);
    });
    box.appendChild(legend);

    var days = Object.keys(calendar.days).sort();
    if (!days.length) {
      box.appendChild(el("p", { "class": "hint" }, s("no_absences")));
      return;
    }
    var list = el("ul", { "class": "marks" });
    days.forEach(function (iso) {
      calendar.days[iso].forEach(function (m) {
        list.appendChild(el("li", {}, iso.slice(8, 10) + " · " + m.subject + ": " + s(m.status)));
      });
    });
    box.appendChild(list);
  }

  // ------------------------------------------------------------------ homework, events

  function renderList(id, items, empty, line) {
    var box = $(id);
    box.textContent = "";
    if (!items.length) {
      box.appendChild(el("li", { "class": "hint" }, s(empty)));
      return;
    }
    items.forEach(function (item) { box.appendChild(line(item)); });
  }

  function homeworkLine(task) {
    var item = el("li");
    item.appendChild(el("strong", {}, task.subject));
    item.appendChild(document.createTextNode(" (" + s("due") + " " + task.due_label + "): " + task.text));
    return item;
  }

  function eventLine(event) {
    var item = el("li");
    item.appendChild(el("strong", {}, event.when));
    item.appendChild(document.createTextNode(" — " + event.title + (event.description ? ". " + event.description : "")));
    return item;
  }

  // ------------------------------------------------------------------ the page

  function renderPupils() {
    var nav = $("pupils");
    nav.textContent = "";
    nav.setAttribute("aria-label", s("children"));
    nav.hidden = state.pupils.length < 2;
    state.pupils.forEach(function (pupil) {
      var button = el("button", { type: "button", "aria-pressed": String(pupil.ref === state.ref) },
        pupil.name + " · " + pupil.class_name);
      button.addEventListener("click", function () { load(pupil.ref, null); });
      nav.appendChild(button);
    });
  }

  // Telegram's signed launch data stays in the address while the Mini App is open: a
  // session that ended (WEB_SESSION_TTL) is started again from it, once per request,
  // as long as the server still takes the launch data (WEBAPP_INIT_MAX_AGE).
  async function startSession() {
    var initData = launchParams().get("tgWebAppData");
    if (!initData) { return false; }
    await fetchJSON("api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ init_data: initData })
    });
    return true;
  }

  async function fetchWithSession(url) {
    try {
      return await fetchJSON(url);
    } catch (error) {
      if (error.status !== 401 || !(await startSession())) { throw error; }
      return await fetchJSON(url);
    }
  }

  async function load(ref, month) {
    state.ref = ref;
    state.month = month;
    renderPupils();
    status(s("loading"));
    var url = "api/pupil/" + encodeURIComponent(ref) + (month ? "?month=" + encodeURIComponent(month) : "");
    try {
      var data = await fetchWithSession(url);
      renderGrades(data);
      renderCalendar(data.calendar);
      renderList("homework", data.homework, "no_homework", homeworkLine);
      renderList("events", data.events, "no_events", eventLine);
      $("content").hidden = false;
      status("");
      document.body.setAttribute("data-ready", ref);
    } catch (error) {
      status(error.message || s("failed"), true);
    }
  }

  async function start() {
    var params = launchParams();
    applyTheme(params);
    telegramEvent("web_app_ready");
    telegramEvent("web_app_expand");
    try {
      await startSession();
      var diary = await fetchJSON("api/diary");
      state.strings = diary.strings;
      state.pupils = diary.pupils;
      document.documentElement.lang = diary.locale;
      document.title = s("title");
      $("title").textContent = s("title");
      $("h-grades").textContent = s("grades");
      $("h-attendance").textContent = s("attendance");
      $("h-homework").textContent = s("homework");
      $("h-events").textContent = s("events");
      await load(diary.pupils[0].ref, null);
    } catch (error) {
      status(error.message || "Щоденник не завантажився. · The diary could not be loaded.", true);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
