/* The shop's Telegram Mini App: one page, routed by the #fragment, talking to /app/api/ with
 * the raw Telegram.WebApp.initData as its credential. No framework, no build step. */
(function () {
  "use strict";

  var doc = document;
  var TEXTS = JSON.parse(doc.getElementById("miniapp-texts").textContent);
  var CONFIG = JSON.parse(doc.getElementById("miniapp-config").textContent);
  var T = TEXTS[CONFIG.language] || {};
  var tg = null;          // Telegram.WebApp, or a harmless stand-in outside Telegram
  var initData = "";
  var state = { me: null, methods: null, route: null, back: null, polls: 0, checkout: null };
  var view = doc.getElementById("view");

  // --- texts -------------------------------------------------------------------------------
  function t(key, values) {
    var text = T[key] || key;
    if (values) {
      text = text.replace(/%\((\w+)\)s/g, function (_m, name) { return values[name] == null ? "" : String(values[name]); });
    }
    return text.replace(/%%/g, "%");
  }

  function setLanguage(code) {
    if (!TEXTS[code]) return false;
    var changed = code !== CONFIG.language;
    CONFIG.language = code;
    T = TEXTS[code];
    var root = doc.documentElement;
    root.lang = code;
    root.dir = CONFIG.rtl.indexOf(code) >= 0 ? "rtl" : "ltr";
    doc.title = t("title");
    doc.getElementById("title").textContent = t("title");
    Array.prototype.forEach.call(doc.querySelectorAll("[data-t]"), function (el) { el.textContent = t(el.getAttribute("data-t")); });
    return changed;
  }

  // --- DOM helpers --------------------------------------------------------------------------
  function h(tag, attrs) {
    var el = doc.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value == null || value === false) return;
        if (name === "text") el.textContent = value;
        else if (name === "class") el.className = value;
        else if (name.slice(0, 2) === "on") el.addEventListener(name.slice(2), value);
        else if (name in el && name !== "list") el[name] = value;
        else el.setAttribute(name, value === true ? "" : value);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  // append(el, child, ...): nodes, text, arrays of them; null and false are skipped.
  function append(el, child) {
    if (arguments.length > 2) {
      for (var i = 1; i < arguments.length; i++) append(el, arguments[i]);
      return;
    }
    if (child == null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === "object" ? child : doc.createTextNode(String(child)));
  }

  function show() {
    view.textContent = "";
    for (var i = 0; i < arguments.length; i++) append(view, arguments[i]);
  }

  function toast(text, kind) {
    var el = doc.getElementById("toast");
    el.textContent = text;
    el.className = "toast" + (kind ? " " + kind : "");
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 2500);
  }

  function notice(text, kind) { return h("p", { class: "notice " + (kind || ""), role: kind === "error" ? "alert" : "status", text: text }); }

  function haptic(kind) {
    try { if (tg.HapticFeedback) tg.HapticFeedback.notificationOccurred(kind); } catch (e) { /* older clients */ }
  }

  // --- values the API sends ------------------------------------------------------------------
  function pick(obj) {
    for (var i = 1; i < arguments.length; i++) {
      var v = obj ? obj[arguments[i]] : null;
      if (v != null && v !== "") return v;
    }
    return null;
  }

  function items(data, key) {
    if (Array.isArray(data)) return data;
    if (!data) return [];
    return data[key] || data.results || data.items || [];
  }

  function money(amount) {
    if (amount == null) return "";
    return Number(amount).toLocaleString("en-US") + " " + t("currency");
  }

  // An amount as the API shows it: "<name>_display" when given, else formatted here.
  function amountOf(obj, name) {
    var shown = pick(obj, name + "_display");
    if (shown != null) return shown;
    var value = pick(obj, name + "_amount", name);
    return value == null ? "" : money(value);
  }

  function bytes(n) {
    if (n == null) return "";
    var gb = n / 1073741824;
    if (gb >= 1) return (Math.round(gb * 100) / 100) + " GB";
    return (Math.round(n / 1048576 * 10) / 10) + " MB";
  }

  function newKey() {
    var buf = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(buf);
    return Array.prototype.map.call(buf, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- the API --------------------------------------------------------------------------------
  function ApiError(status, data) {
    this.status = status;
    this.data = data || {};
    this.message = detailOf(this.data) || (status === 0 ? t("error_network") : status === 401 || status === 403 ? t("error_auth") : t("error_generic"));
  }

  function detailOf(data) {
    if (!data) return "";
    if (typeof data === "string") return data;
    if (Array.isArray(data)) return data.map(detailOf).filter(Boolean).join(" ");
    if (data.detail) return detailOf(data.detail);
    if (data.message) return detailOf(data.message);
    return Object.keys(data).map(function (k) { var v = data[k]; return typeof v === "string" || Array.isArray(v) ? detailOf(v) : ""; })
      .filter(Boolean).join(" ");
  }

  function api(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { Authorization: "tma " + initData, Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(CONFIG.api + path, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!response.ok) throw new ApiError(response.status, data);
        return data;
      });
    }, function () { throw new ApiError(0, null); });
  }

  // Runs fn (returning a promise) with the button disabled; an error shows in `where` or a toast.
  function busy(button, fn, where) {
    if (button.disabled) return Promise.resolve();
    button.disabled = true;
    button.classList.add("busy");
    if (where) where.textContent = "";
    return Promise.resolve().then(fn).catch(function (err) {
      var text = err && err.message ? err.message : t("error_generic");
      haptic("error");
      if (where) append(where, notice(text, "error")); else toast(text, "error");
    }).then(function () {
      button.disabled = false;
      button.classList.remove("busy");
    });
  }

  function failed(err, retry) {
    show(notice(err && err.message ? err.message : t("error_generic"), "error"),
      retry ? h("button", { class: "btn", text: t("retry"), onclick: retry }) : null);
  }

  function loading() { show(h("p", { class: "muted center", text: t("loading") })); }

  // The balance chip, from any answer that carries balance_amount / balance_display.
  function setBalance(data) {
    if (!data || (data.balance_amount == null && data.balance_display == null)) return;
    state.balance = data;
    var chip = doc.getElementById("balance");
    chip.textContent = t("balance", { amount: amountOf(data, "balance") });
    chip.hidden = false;
  }

  function refreshMe() {
    return api("GET", "me").then(function (me) {
      state.me = me;
      setBalance(me);
      return me;
    });
  }

  function methods() {
    if (state.methods) return Promise.resolve(state.methods);
    return api("GET", "methods").then(function (data) { state.methods = data || {}; return state.methods; },
      function () { return {}; });
  }

  function methodKey(m) { return m.key || m.code; }
  function methodLabel(m) { return m.label || m.title || methodKey(m); }

  // The online methods that can pay an order's total (the card is only for top-ups).
  function orderMethods(data) {
    return items(data, "methods").filter(function (m) { return m.pays_orders !== false && methodKey(m) !== "card"; });
  }

  // --- Telegram ------------------------------------------------------------------------------
  var THEME_KEYS = ["bg_color", "text_color", "hint_color", "link_color", "button_color", "button_text_color",
    "secondary_bg_color", "header_bg_color", "accent_text_color", "section_bg_color", "section_header_text_color",
    "subtitle_text_color", "destructive_text_color", "bottom_bar_bg_color", "section_separator_color"];

  function applyTheme() {
    var root = doc.documentElement;
    var params = tg.themeParams || {};
    THEME_KEYS.forEach(function (key) {
      if (params[key]) root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), params[key]);
    });
    root.setAttribute("data-scheme", tg.colorScheme === "dark" ? "dark" : "light");
  }

  function applyInsets() {
    var root = doc.documentElement;
    [["safe-area-inset", tg.safeAreaInset], ["content-safe-area-inset", tg.contentSafeAreaInset]].forEach(function (pair) {
      var inset = pair[1];
      if (!inset) return;
      ["top", "bottom", "left", "right"].forEach(function (side) {
        if (inset[side] != null) root.style.setProperty("--tg-" + pair[0] + "-" + side, inset[side] + "px");
      });
    });
  }

  function on(event, fn) { try { tg.onEvent(event, fn); } catch (e) { /* an older client */ } }

  function setBack(target) {
    state.back = target;
    var button = tg.BackButton;
    if (!button) return;
    try { if (target) button.show(); else button.hide(); } catch (e) { /* an older client */ }
  }

  function openLink(url) {
    if (tg.openLink) tg.openLink(url); else window.open(url, "_blank", "noopener");
  }

  function openTelegramLink(url) {
    if (tg.openTelegramLink) tg.openTelegramLink(url); else window.open(url, "_blank", "noopener");
  }

  function copy(text) {
    function done() { haptic("success"); toast(t("copied"), "ok"); }
    function fallback() {
      var area = h("textarea", { class: "offscreen", value: text, readOnly: true });
      doc.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = doc.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      if (ok) done(); else toast(t("copy_failed"), "error");
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(text).then(done, fallback);
    }
    fallback();
    return Promise.resolve();
  }

  function copyField(value, label) {
    var input = h("input", { class: "mono", value: value, readOnly: true, "aria-label": label || "", onfocus: function () { this.select(); } });
    return h("div", { class: "copy-field" }, input,
      h("button", { class: "btn small", type: "button", text: t("copy"), "data-copy": value, onclick: function () { copy(value); } }));
  }

  // --- payments opened outside the page --------------------------------------------------------
  var FINAL_OK = ["paid", "credited", "completed", "succeeded", "success", "confirmed"];
  var FINAL_BAD = ["failed", "cancelled", "canceled", "expired", "rejected", "refunded", "held"];

  // What a decided payment did: the order it placed (as a wallet purchase says it), or the money
  // in the wallet (a top-up, or an order that could not be placed then).
  function paidText(p) {
    var order = pick(p, "order");
    if (order) {
      var sub = pick(order, "subscription") || {};
      return t("paid", { amount: amountOf(order, "paid"), plan: pick(order, "plan_name") || "",
        date: pick(sub, "expires_display") || "" });
    }
    return p.order_refused ? t("payment_no_order") : t("payment_done");
  }

  // Opens a payment the API made ({id, url | invoice_link, method}) and follows it until it is decided.
  function followPayment(payment, box, onPaid) {
    var id = pick(payment, "payment_id", "id");
    var invoice = pick(payment, "invoice_link") || (payment.open === "invoice" ? payment.url : null);
    var url = pick(payment, "url", "pay_url", "payment_url", "link");
    var poll = ++state.polls;
    box.textContent = "";
    append(box, pick(payment, "text") ? h("p", { class: "muted", text: payment.text }) : null, notice(t("waiting_payment")));

    function finish(ok, text, decided) {
      if (poll !== state.polls) return;
      state.polls++;
      box.textContent = "";
      haptic(ok ? "success" : "error");
      append(box, notice(text, ok ? "ok" : "error"));
      if (ok && onPaid) onPaid(box, decided || {});
      if (ok) refreshMe().catch(function () {});
    }

    function check(round) {
      if (poll !== state.polls || id == null) return;
      api("GET", "payments/" + encodeURIComponent(id)).then(function (p) {
        var s = String(pick(p, "status") || "").toLowerCase();
        if (p.paid === true || (p.paid == null && FINAL_OK.indexOf(s) >= 0)) {
          setBalance(p);
          finish(true, paidText(p), p);
        }
        else if (p.final === true || (p.final == null && FINAL_BAD.indexOf(s) >= 0)) {
          finish(false, t("payment_failed") + (p.status_display ? " (" + p.status_display + ")" : ""));
        }
        else if (round < 60) setTimeout(function () { check(round + 1); }, 2000);
        else {
          box.textContent = "";
          append(box, notice(t("payment_pending")), h("button", { class: "btn", text: t("check_again"), onclick: function () { poll = ++state.polls; check(0); } }));
        }
      }, function () {
        if (round < 60) setTimeout(function () { check(round + 1); }, 3000);
      });
    }

    if (invoice && tg.openInvoice) {
      tg.openInvoice(invoice, function (result) {
        if (result === "paid") check(0);
        else if (result === "cancelled") finish(false, t("payment_cancelled"));
        else if (result === "failed") finish(false, t("payment_failed"));
        else check(0);  // "pending": Telegram still works on it
      });
      return;
    }
    if (url) openLink(url);
    else if (invoice) openLink(invoice);
    check(0);
  }

  // --- Plans ---------------------------------------------------------------------------------
  function planFacts(plan) {
    var facts = [];
    var days = pick(plan, "duration_days", "days");
    if (days != null) facts.push(t("days", { days: days }));
    var gb = pick(plan, "traffic_gb");
    if (gb != null) facts.push(Number(gb) === 0 ? t("unlimited") : t("traffic_gb", { gb: gb }));
    var devices = pick(plan, "device_limit", "devices");
    if (devices != null) facts.push(t("devices", { n: devices }));
    return facts.join(" · ");
  }

  function planPrice(plan) {
    var list = amountOf(plan, "price");
    var price = plan.quote ? amountOf(plan.quote, "total") : list;
    var box = h("div", { class: "price" });
    if (list && list !== price) append(box, h("s", { class: "muted", text: list }), " ");
    append(box, h("strong", { text: price }));
    return box;
  }

  function pagePlans() {
    setBack(null);
    loading();
    api("GET", "plans").then(function (data) {
      var plans = items(data, "plans");
      state.plans = plans;
      if (!plans.length) { show(notice(t("no_plans"))); return; }
      show(h("div", { class: "list" }, plans.map(function (plan) {
        var off = plan.available === false;
        return h(off ? "div" : "a", { class: "card plan" + (off ? " off" : ""), href: off ? null : "#plans/" + plan.id, "data-plan": plan.id },
          h("div", { class: "row" }, h("h2", { text: plan.name }), planPrice(plan)),
          h("p", { class: "muted", text: planFacts(plan) }),
          plan.description ? h("p", { text: plan.description }) : null,
          off && plan.detail ? h("p", { class: "muted small", text: plan.detail }) : null);
      })));
    }, function (err) { failed(err, pagePlans); });
  }

  function pagePlan(planId) {
    setBack("#plans");
    loading();
    var plansReady = state.plans ? Promise.resolve(state.plans) : api("GET", "plans").then(function (d) { return (state.plans = items(d, "plans")); });
    Promise.all([plansReady, methods()]).then(function (all) {
      var plan = all[0].filter(function (p) { return String(p.id) === String(planId); })[0];
      if (!plan || plan.available === false) { show(notice(plan && plan.detail ? plan.detail : t("no_plans"))); return; }
      renderCheckout(plan, all[1]);
    }, function (err) { failed(err, function () { pagePlan(planId); }); });
  }

  function renderCheckout(plan, methodData) {
    var quantities = (plan.quantities && plan.quantities.length) ? plan.quantities : [1];
    var checkout = state.checkout = { plan: plan, quantity: quantities[0], code: "", key: newKey(), quote: null };
    var select = h("select", { id: "quantity", "aria-label": t("quantity"), onchange: function () { checkout.quantity = Number(this.value); requote(); } },
      quantities.map(function (q) { return h("option", { value: q, text: t("quantity_option", { n: q, days: plan.duration_days }) }); }));
    var code = h("input", { id: "code", autocomplete: "off", autocapitalize: "characters", spellcheck: false, maxLength: 32, placeholder: t("code_placeholder") });
    var apply = h("button", { class: "btn secondary", id: "apply-code", type: "button", text: t("code_apply") });
    var quoteBox = h("div", { class: "card quote", id: "quote" });
    var payBox = h("div", { class: "pay", id: "pay" });
    var result = h("div", { id: "result" });

    function requote(button) {
      checkout.key = newKey();
      var run = function () {
        return api("POST", "quote", { plan: plan.id, quantity: checkout.quantity, code: checkout.code }).then(function (quote) {
          checkout.quote = quote;
          renderQuote(quote);
        });
      };
      if (button) return busy(button, run, result);
      quoteBox.textContent = t("loading");
      return run().catch(function (err) { quoteBox.textContent = ""; append(quoteBox, notice(err.message, "error")); });
    }

    function renderQuote(quote) {
      quoteBox.textContent = "";
      var rows = [[t("list_price"), amountOf(quote, "list")]];
      items(quote, "discounts").forEach(function (d) {
        rows.push([d.label || d.title || "", "−" + String(pick(d, "display") || money(d.amount)).replace(/^[-−]/, "")]);
      });
      rows.push([t("total"), amountOf(quote, "total")]);
      append(quoteBox, h("h2", { text: plan.name + " × " + checkout.quantity }),
        h("dl", { class: "breakdown" }, rows.map(function (r, i) {
          return [h("dt", { class: i === rows.length - 1 ? "total" : "", text: r[0] }), h("dd", { class: i === rows.length - 1 ? "total" : "", text: r[1] })];
        })));
      var cashback = pick(quote, "cashback_amount");
      if (cashback) append(quoteBox, h("p", { class: "muted", text: t("cashback") + ": " + amountOf(quote, "cashback") }));
      if (checkout.code && quote.code_applied === false) {
        append(quoteBox, notice(pick(quote, "code_message") || t("code_not_applied", { code: checkout.code }), "warn"));
      }
      renderPay(quote);
    }

    function order() {
      return { plan: plan.id, quantity: checkout.quantity, code: checkout.code, idempotency_key: checkout.key,
        expected_total: pick(checkout.quote, "total_amount") };
    }

    function renderPay(quote, short) {
      payBox.textContent = "";
      var online = orderMethods(methodData);
      append(payBox, h("button", { class: "btn primary", id: "pay-wallet", type: "button", text: t("pay_wallet", { amount: amountOf(quote, "total") }),
        onclick: function () { payWallet(this); } }));
      if (short) append(payBox, notice(short, "warn"));
      online.forEach(function (m) {
        append(payBox, h("button", { class: "btn", type: "button", "data-method": methodKey(m), text: t("pay_with", { method: methodLabel(m) }),
          onclick: function () { payOnline(this, m); } }));
      });
      if (short) append(payBox, h("a", { class: "btn secondary", href: "#wallet/topup" + (state.topupOffer ? "/" + state.topupOffer : ""), text: t("topup") }));
    }

    function paid(data) {
      var orderData = pick(data, "order") || data;
      var sub = pick(orderData, "subscription") || pick(data, "subscription") || {};
      setBalance(data);
      checkout.key = newKey();
      haptic("success");
      payBox.textContent = "";
      result.textContent = "";
      append(result, notice(t("paid", { amount: amountOf(orderData, "paid"), plan: plan.name,
        date: pick(sub, "expires_display", "expires_at_display") || "" }), "ok"),
      h("a", { class: "btn primary", href: "#services", id: "see-services", text: t("see_services") }));
      refreshMe().catch(function () {});
    }

    function payWallet(button) {
      return busy(button, function () {
        return api("POST", "orders", order()).then(paid, function (err) {
          if (err.status === 402) {
            var missing = amountOf(err.data, "missing");
            if (err.data.methods) methodData = err.data;
            state.topupOffer = pick(err.data, "topup_amount");
            renderPay(checkout.quote, missing ? t("wallet_short", { amount: missing }) : err.message);
            return;
          }
          if (err.status === 409) {
            var quote = pick(err.data, "quote");
            checkout.key = newKey();
            if (quote) { checkout.quote = quote; renderQuote(quote); } else requote();
            result.textContent = "";
            append(result, notice(t("price_changed"), "warn"));
            return;
          }
          throw err;
        });
      }, result);
    }

    function payOnline(button, method) {
      var body = order();
      body.method = methodKey(method);
      return busy(button, function () {
        return api("POST", "orders/pay", body).then(function (data) {
          followPayment(pick(data, "payment") || data, result, function (box, decided) {
            if (decided.order_refused) { requote(); return; }  // the money is in the wallet: the price now, to pay from it
            payBox.textContent = "";
            append(box, h("a", { class: "btn primary", href: "#services", text: t("see_services") }));
          });
        });
      }, result);
    }

    apply.addEventListener("click", function () {
      checkout.code = code.value.trim();
      requote(apply);
    });
    code.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); apply.click(); } });

    show(h("div", { class: "card" },
      h("div", { class: "row" }, h("h2", { text: plan.name }), planPrice(plan)),
      h("p", { class: "muted", text: planFacts(plan) }),
      h("label", { for: "quantity", text: t("quantity") }), select,
      h("label", { for: "code", text: t("code") }), h("div", { class: "inline" }, code, apply)),
    quoteBox, result, payBox);
    requote();
  }

  // --- My services ----------------------------------------------------------------------------
  function drawQr(canvas, text) {
    if (!window.qrcode) return false;
    var qr = window.qrcode(0, "M");
    window.qrcode.stringToBytes = window.qrcode.stringToBytesFuncs["UTF-8"];
    qr.addData(text, "Byte");
    qr.make();
    var count = qr.getModuleCount(), quiet = 4, scale = Math.max(2, Math.floor(232 / (count + 2 * quiet)));
    var size = (count + 2 * quiet) * scale;
    canvas.width = canvas.height = size;
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, size, size);
    ctx.fillStyle = "#000";
    for (var r = 0; r < count; r++) {
      for (var c = 0; c < count; c++) if (qr.isDark(r, c)) ctx.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
    }
    canvas.setAttribute("data-qr", text);
    return true;
  }

  var STATUS = { active: "status_active", disabled: "status_disabled", expired: "status_expired", pending: "status_pending", limited: "status_limited" };

  function serviceCard(sub) {
    var plan = sub.plan && typeof sub.plan === "object" ? sub.plan : { id: sub.plan_id, name: sub.plan_name || sub.plan };
    var account = sub.account || null;
    var status = String((account && account.status) || sub.status || "active");
    var statusText = account && account.status && account.status !== sub.status ? t(STATUS[status] || "status_active") : (pick(sub, "status_display") || t(STATUS[status] || "status_active"));
    var card = h("article", { class: "card service", "data-service": sub.id });
    append(card, h("div", { class: "row" }, h("h2", { text: plan.name + (sub.is_trial ? " (" + t("trial") + ")" : "") }),
      h("span", { class: "badge " + status, text: statusText })));
    var until = pick(sub, "expires_display", "expires_at_display");
    var days = pick(sub, "days_left");
    append(card, h("p", { class: "muted" }, until ? t("until", { date: until }) : "", until && days != null ? " · " : "",
      days != null ? t("days_left", { days: days }) : ""));

    if (account && account.used_bytes != null) {
      var used = account.used_bytes, limit = account.limit_bytes;
      var share = limit ? Math.min(1, Math.max(0, used) / limit) : 0;
      var bar = h("div", { class: "bar" + (share > 0.9 ? " high" : ""), role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(share * 100) }, h("span"));
      bar.firstChild.style.width = (share * 100) + "%";
      var usedText = pick(account, "used_display") || bytes(used);
      append(card, bar, h("p", { class: "muted small", text: limit ? t("usage", { used: usedText, limit: pick(account, "limit_display") || bytes(limit) }) : t("usage_unlimited", { used: usedText }) }));
      var readAt = pick(account, "usage_read_display");
      if (readAt) append(card, h("p", { class: "muted small", text: t("usage_as_of", { date: readAt }) }));
    }

    var linkBox = h("div", { class: "link-box" });
    function renderLink(value) {
      linkBox.textContent = "";
      if (!value) { append(linkBox, h("p", { class: "muted", text: t("preparing") })); return; }
      var canvas = h("canvas", { class: "qr", width: 1, height: 1, "aria-label": t("show_qr") });
      var qrShown = false;
      append(linkBox, h("label", { text: t("sub_link") }), copyField(value, t("sub_link")),
        h("button", { class: "btn small secondary qr-toggle", type: "button", text: t("show_qr"), onclick: function () {
          qrShown = !qrShown;
          if (qrShown) drawQr(canvas, value);
          canvas.hidden = !qrShown;
        } }), canvas);
      canvas.hidden = true;
    }
    renderLink((account && account.subscription_url) || sub.config || "");
    append(card, linkBox);

    var actions = h("div", { class: "actions" });
    var result = h("div", { class: "result" });
    if (plan.id && sub.can_renew !== false && plan.on_sale !== false) {
      append(actions, h("a", { class: "btn", href: "#plans/" + plan.id, text: sub.is_trial ? t("buy_plan", { plan: plan.name }) : t("renew") }));
    }
    if (sub.can_buy_traffic) append(actions, h("a", { class: "btn", href: "#services/" + sub.id + "/traffic", text: t("more_traffic") }));
    if (sub.can_new_link) {
      append(actions, h("button", { class: "btn secondary", type: "button", text: t("new_link"), onclick: function () {
        var button = this;
        confirmThen(t("new_link_confirm", { plan: plan.name }), function () {
          busy(button, function () {
            return api("POST", "subscriptions/" + encodeURIComponent(sub.id) + "/link", {}).then(function (data) {
              var fresh = pick(data, "subscription");
              var link = pick(data, "subscription_url") || (fresh && fresh.account && fresh.account.subscription_url);
              renderLink(link);
              result.textContent = "";
              append(result, notice(t("new_link_done"), "ok"));
              haptic("success");
            });
          }, result);
        });
      } }));
    }
    append(card, actions, result);
    return card;
  }

  function confirmThen(text, fn) {
    if (tg.showConfirm && tg.isVersionAtLeast && tg.isVersionAtLeast("6.2")) {
      try { tg.showConfirm(text, function (ok) { if (ok) fn(); }); return; } catch (e) { /* fall through */ }
    }
    if (window.confirm(text)) fn();
  }

  function pageServices() {
    setBack(null);
    loading();
    api("GET", "subscriptions").then(function (data) {
      var subs = items(data, "subscriptions");
      state.subs = subs;
      if (!subs.length) {
        show(notice(t("no_services")), h("a", { class: "btn primary", href: "#plans", text: t("buy_one") }));
        return;
      }
      show(h("div", { class: "list" }, subs.map(serviceCard)));
    }, function (err) { failed(err, pageServices); });
  }

  function pageTraffic(subId) {
    setBack("#services");
    loading();
    var sub = (state.subs || []).filter(function (s) { return String(s.id) === String(subId); })[0] || {};
    var planName = (sub.plan && sub.plan.name) || "";
    api("GET", "traffic-packs?subscription=" + encodeURIComponent(subId)).then(function (data) {
      var packs = items(data, "packs");
      var result = h("div", { id: "result" });
      if (!packs.length) { show(notice(t("no_packs"))); return; }
      show(h("h2", { class: "page-title", text: t("traffic_packs", { plan: planName }) }), result,
        h("div", { class: "list" }, packs.map(function (pack) {
          return h("div", { class: "card row" },
            h("div", null, h("strong", { text: pack.name || t("traffic_gb", { gb: pack.traffic_gb }) }),
              h("p", { class: "muted", text: t("traffic_gb", { gb: pack.traffic_gb }) + " · " + amountOf(pack, "price") })),
            h("button", { class: "btn primary small", type: "button", text: t("buy_pack"), onclick: function () {
              var key = newKey();
              busy(this, function () {
                return api("POST", "traffic", { subscription: Number(subId), pack: pack.id, idempotency_key: key,
                  expected_amount: pick(pack, "price_amount") }).then(function (res) {
                  setBalance(res);
                  result.textContent = "";
                  append(result, notice(pick(res, "text") || t("pack_done", { gb: pack.traffic_gb, plan: planName }), "ok"));
                  haptic("success");
                }, function (err) {
                  if (err.status === 402) {
                    result.textContent = "";
                    var offer = pick(err.data, "topup_amount");
                    append(result, notice(err.message, "warn"), h("a", { class: "btn secondary", href: "#wallet/topup" + (offer ? "/" + offer : ""), text: t("topup") }));
                    return;
                  }
                  throw err;
                });
              }, result);
            } }));
        })));
    }, function (err) { failed(err, function () { pageTraffic(subId); }); });
  }

  // --- Wallet -----------------------------------------------------------------------------------
  function pageWallet() {
    setBack(null);
    loading();
    api("GET", "wallet").then(function (data) {
      setBalance(data);
      var history = items(data, "transactions");
      show(h("div", { class: "card balance-card" },
        h("p", { class: "muted", text: t("tab_wallet") }),
        h("p", { class: "big", id: "wallet-balance", text: amountOf(data, "balance") }),
        h("a", { class: "btn primary", href: "#wallet/topup", id: "topup", text: t("topup") })),
      h("h2", { class: "page-title", text: t("wallet_history") }),
      history.length ? h("ul", { class: "card history" }, history.map(function (tx) {
        var amount = pick(tx, "amount_display") || ((tx.amount > 0 ? "+" : "") + money(tx.amount));
        return h("li", { class: "row" },
          h("div", null, h("span", { text: pick(tx, "reason_display", "reason") || "" }),
            h("p", { class: "muted small", text: pick(tx, "created_display", "created_at") || "" })),
          h("bdi", { class: "amount " + (Number(tx.amount) < 0 ? "neg" : "pos"), text: amount }));
      })) : h("p", { class: "muted", text: t("no_transactions") }));
    }, function (err) { failed(err, pageWallet); });
  }

  function pageTopup(preset) {
    setBack("#wallet");
    loading();
    methods().then(function (data) {
      var list = items(data, "methods").slice();
      var card = pick(data, "card");
      if (card) list.unshift({ key: "card", label: t("card_method") });
      var low = pick(data, "topup_min_amount"), high = pick(data, "topup_max_amount");
      var amount = h("input", { id: "amount", type: "number", inputMode: "numeric", min: low, max: high, step: 1, value: preset || "" });
      var chosen = list.length ? methodKey(list[0]) : "";
      var result = h("div", { id: "result" });
      var choices = h("div", { class: "choices", role: "radiogroup" }, list.map(function (m, i) {
        return h("label", { class: "choice" }, h("input", { type: "radio", name: "method", value: methodKey(m), checked: i === 0,
          onchange: function () { chosen = this.value; } }), h("span", { text: methodLabel(m) }));
      }));
      var go = h("button", { class: "btn primary", id: "topup-go", type: "button", text: t("continue"), disabled: !list.length, onclick: function () {
        var value = parseInt(amount.value, 10);
        if (!(value > 0) || (low != null && value < low) || (high != null && value > high)) {
          result.textContent = "";
          append(result, notice(low != null && high != null ? t("topup_range", { min: money(low), max: money(high) }) : t("topup_amount"), "error"));
          return;
        }
        if (chosen === "card") { showCard(result, value, card); return; }
        busy(this, function () {
          return api("POST", "topups", { amount: value, method: chosen }).then(function (res) { followPayment(res, result); });
        }, result);
      } });
      show(h("div", { class: "card" },
        h("label", { for: "amount", text: t("topup_amount") }), amount,
        low != null && high != null ? h("p", { class: "muted small", text: t("topup_range", { min: amountOf(data, "topup_min"), max: amountOf(data, "topup_max") }) }) : null,
        list.length ? [h("p", { class: "label", text: t("topup_method") }), choices] : notice(t("disabled")),
        go), result);
    }, function (err) { failed(err, function () { pageTopup(preset); }); });
  }

  // Card to card: the shop's card to copy, then the receipt's photo in the chat (the bot's /topup).
  function showCard(box, amount, card) {
    card = card || {};
    box.textContent = "";
    var details = h("div", { class: "card", id: "card-details" },
      h("p", { text: t("card_transfer", { amount: money(amount) }) }),
      card.number ? [h("label", { text: t("card_number") }), copyField(card.number, t("card_number"))] : null,
      card.holder ? h("p", { class: "muted", text: t("card_holder") + ": " + card.holder }) : null);
    append(details, h("button", { class: "btn primary", id: "open-chat", type: "button", text: t("open_chat"), onclick: function () { openChat(details, amount); } }));
    append(box, details);
  }

  // The chat with the bot, where /start topup_<amount> shows the card and waits for the photo.
  function openChat(box, amount) {
    if (CONFIG.bot_username) {
      openTelegramLink("https://t.me/" + CONFIG.bot_username + "?start=topup_" + amount);
      return;
    }
    append(box, notice(t("card_command", { command: "/topup " + amount })));
  }

  // --- Referrals ----------------------------------------------------------------------------------
  function pageReferrals() {
    setBack(null);
    loading();
    api("GET", "referrals").then(function (data) {
      var link = pick(data, "link");
      var percent = pick(data, "reward_percent");
      show(h("div", { class: "card" },
        h("p", { text: t("referral_intro", { percent: percent != null ? percent : CONFIG.referral_percent }) }),
        link ? [h("label", { text: t("referral_link") }), copyField(link, t("referral_link")),
          h("button", { class: "btn primary", id: "share", type: "button", text: t("share"), onclick: function () {
            openTelegramLink("https://t.me/share/url?url=" + encodeURIComponent(link) + "&text=" + encodeURIComponent(t("share_text")));
          } })] : null),
      h("div", { class: "stats" },
        h("div", { class: "card stat" }, h("p", { class: "big", id: "joined", text: String(pick(data, "joined") || 0) }), h("p", { class: "muted", text: t("joined") })),
        h("div", { class: "card stat" }, h("p", { class: "big", text: amountOf(data, "earned") || money(0) }), h("p", { class: "muted", text: t("earned") }))));
    }, function (err) { failed(err, pageReferrals); });
  }

  // --- Settings -------------------------------------------------------------------------------------
  function pageSettings() {
    setBack(null);
    loading();
    api("GET", "settings").then(function (data) {
      var languages = items(data, "languages");
      var lang = h("select", { id: "language" }, languages.map(function (l) {
        return h("option", { value: l.code, text: l.name, selected: l.code === (data.language || CONFIG.language) });
      }));
      var notes = data.notifications || {};
      var kinds = items(notes, "types");
      var toggles = kinds.map(function (k) {
        return h("label", { class: "switch" }, h("span", { text: k.label || k.type }),
          h("input", { type: "checkbox", "data-type": k.type, checked: k.enabled !== false }));
      });
      var quiet = notes.quiet_hours || {};
      var quietStart = h("input", { id: "quiet-start", type: "time", value: quiet.start || "" });
      var quietEnd = h("input", { id: "quiet-end", type: "time", value: quiet.end || "" });
      var result = h("div", { id: "result" });
      var save = h("button", { class: "btn primary", id: "save", type: "button", text: t("save"), onclick: function () {
        var types = {};
        Array.prototype.forEach.call(view.querySelectorAll("input[data-type]"), function (i) { types[i.getAttribute("data-type")] = i.checked; });
        var window_ = quietStart.value && quietEnd.value && quietStart.value !== quietEnd.value ? { start: quietStart.value, end: quietEnd.value } : null;
        var body = { language: lang.value, notifications: { quiet_hours: window_ } };
        if (kinds.length) body.notifications.types = types;
        busy(this, function () {
          return api("PUT", "settings", body).then(function (saved) {
            haptic("success");
            if (setLanguage(pick(saved, "language") || body.language)) { refreshMe().catch(function () {}); pageSettings(); }
            toast(t("saved"), "ok");
          });
        }, result);
      } });
      show(h("div", { class: "card" }, h("label", { for: "language", text: t("language") }), lang),
        h("div", { class: "card" }, h("h2", { text: t("notifications") }), toggles,
          h("p", { class: "label", text: t("quiet_hours") }),
          h("div", { class: "inline" }, h("label", { for: "quiet-start", text: t("quiet_from") }), quietStart,
            h("label", { for: "quiet-end", text: t("quiet_until") }), quietEnd),
          h("p", { class: "muted small", text: t("quiet_hint") }),
          notes.always_sent ? h("p", { class: "muted small", text: notes.always_sent }) : null),
        result, save);
    }, function (err) { failed(err, pageSettings); });
  }

  // --- routes -----------------------------------------------------------------------------------------
  var ROUTES = [
    [/^plans\/(\d+)$/, pagePlan, "plans"],
    [/^plans$/, pagePlans, "plans"],
    [/^services\/(\d+)\/traffic$/, pageTraffic, "services"],
    [/^services$/, pageServices, "services"],
    [/^wallet\/topup(?:\/(\d{1,12}))?$/, pageTopup, "wallet"],
    [/^wallet$/, pageWallet, "wallet"],
    [/^referrals$/, pageReferrals, "referrals"],
    [/^settings$/, pageSettings, "settings"],
  ];

  function route() {
    var hash = (location.hash || "").replace(/^#\/?/, "") || "plans";
    state.polls++;  // a payment followed on the page left behind stops polling
    for (var i = 0; i < ROUTES.length; i++) {
      var m = ROUTES[i][0].exec(hash);
      if (m) {
        state.route = hash;
        Array.prototype.forEach.call(doc.querySelectorAll("#tabs a"), function (a) {
          a.classList.toggle("active", a.getAttribute("data-tab") === ROUTES[i][2]);
        });
        ROUTES[i][1](m[1]);
        window.scrollTo(0, 0);
        return;
      }
    }
    location.replace("#plans");
  }

  // --- start ----------------------------------------------------------------------------------------
  // Telegram opens the page with #tgWebAppData=...&tgWebAppThemeParams=...; kept for a reload, and
  // for a client where telegram.org (the SDK) cannot be reached.
  var launch = (function () {
    var params = {};
    try {
      var hash = location.hash.replace(/^#/, "");
      if (hash.indexOf("tgWebAppData=") >= 0) {
        hash.split("&").forEach(function (part) {
          var i = part.indexOf("=");
          if (i > 0) params[decodeURIComponent(part.slice(0, i))] = decodeURIComponent(part.slice(i + 1));
        });
        sessionStorage.setItem("miniapp-launch", JSON.stringify(params));
      } else {
        params = JSON.parse(sessionStorage.getItem("miniapp-launch") || "{}");
      }
    } catch (e) { params = {}; }
    return params;
  })();

  function fallbackWebApp() {
    var theme = {};
    try { theme = JSON.parse(launch.tgWebAppThemeParams || "{}"); } catch (e) { theme = {}; }
    var user = {};
    try { user = JSON.parse(new URLSearchParams(launch.tgWebAppData || "").get("user") || "{}"); } catch (e) { user = {}; }
    return { initData: launch.tgWebAppData || "", initDataUnsafe: { user: user }, themeParams: theme,
      colorScheme: theme.bg_color && parseInt(theme.bg_color.slice(1, 3), 16) < 128 ? "dark" : "light" };
  }

  function start() {
    tg = (window.Telegram && window.Telegram.WebApp) || fallbackWebApp();
    initData = tg.initData || launch.tgWebAppData || "";
    try { if (tg.ready) tg.ready(); if (tg.expand) tg.expand(); } catch (e) { /* outside Telegram */ }
    applyTheme();
    applyInsets();
    on("themeChanged", applyTheme);
    on("safeAreaChanged", applyInsets);
    on("contentSafeAreaChanged", applyInsets);
    if (tg.BackButton && tg.BackButton.onClick) {
      tg.BackButton.onClick(function () { if (state.back) location.hash = state.back; });
    }
    var user = tg.initDataUnsafe && tg.initDataUnsafe.user;
    if (user && user.language_code) setLanguage(String(user.language_code).split("-")[0]);
    if (!initData) {
      show(notice(t("error_auth"), "error"));
      return;
    }
    refreshMe().then(function (me) { setLanguage(pick(me, "language") || CONFIG.language); }, function () {}).then(function () {
      window.addEventListener("hashchange", route);
      route();
    });
  }

  // The SDK script is async: wait for it a moment (it may be slow or blocked), then go without it.
  var started = false;
  function go() { if (!started) { started = true; start(); } }
  if (window.Telegram && window.Telegram.WebApp) go();
  else {
    var sdk = doc.getElementById("tg-sdk");
    if (sdk) { sdk.addEventListener("load", go); sdk.addEventListener("error", go); }
    setTimeout(go, 3000);
  }
})();
