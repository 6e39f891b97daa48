/* The local chat page: plays Telegram for the shop's bot.
   What a person sends is kept by the stand-in (POST …/api/chats/<id>/text|photo|press), which
   answers with the update Telegram would deliver; the page POSTs that update to the real webhook
   with the secret header. What the bot sends is read back from the stand-in every second. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("devchat-config").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var state = { current: null, seq: -1, seen: 0, first: true, errors: [], busy: false };

  function api(path, options) {
    options = options || {};
    var headers = { "X-CSRFToken": config.csrf };
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    return fetch(config.api + path, { method: options.method || "GET", headers: headers, body: options.body,
                                      credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.error || ("HTTP " + response.status)); }
          return data;
        });
      });
  }

  // Telegram's side of the webhook: the update, with the secret Telegram would send.
  function deliver(update) {
    return fetch(config.webhook, {
      method: "POST", credentials: "omit", body: JSON.stringify(update),
      headers: { "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": config.secret }
    }).then(function (response) {
      if (!response.ok) { throw new Error("The webhook answered HTTP " + response.status); }
    });
  }

  function showError(id, error) {
    var box = $(id);
    box.textContent = error ? String(error.message || error) : "";
    box.hidden = !error;
  }

  // --- people --------------------------------------------------------------------------------------
  function personItem(person) {
    var li = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "person" + (person.id === state.current ? " current" : "");
    button.dataset.id = person.id;
    button.appendChild(document.createTextNode(person.first_name + (person.last_name ? " " + person.last_name : "") + " "));
    var small = document.createElement("small");
    small.textContent = (person.username ? "@" + person.username + " · " : "") + person.id;
    button.appendChild(small);
    button.addEventListener("click", function () { open(person.id); });
    li.appendChild(button);
    return li;
  }

  function fill(listId, people) {
    var list = $(listId);
    list.textContent = "";
    people.forEach(function (p) { list.appendChild(personItem(p)); });
  }

  function loadPeople() {
    return api("people?search=" + encodeURIComponent($("search").value)).then(function (data) {
      fill("admins", data.admins);
      fill("recent", data.recent);
      fill("customers", data.customers);
    });
  }

  config.languages.forEach(function (pair) {
    var option = document.createElement("option");
    option.value = pair[0];
    option.textContent = pair[1];
    option.selected = pair[0] === config.language;
    $("new-language").appendChild(option);
  });

  $("new-person").addEventListener("submit", function (event) {
    event.preventDefault();
    api("people", { method: "POST", json: { first_name: $("new-name").value, language: $("new-language").value } })
      .then(function (data) {
        showError("new-error", null);
        $("new-name").value = "";
        open(data.person.id);
        loadPeople();
      })
      .catch(function (error) { showError("new-error", error); });
  });

  var searchTimer = null;
  $("search").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(loadPeople, 250);
  });

  // --- a chat ----------------------------------------------------------------------------------------
  function open(id) {
    state.current = id;
    state.seq = -1;
    state.seen = 0;
    state.first = true;
    state.errors = [];
    $("messages").textContent = "";
    $("text").disabled = $("send").disabled = false;
    document.querySelectorAll(".person").forEach(function (b) {
      b.classList.toggle("current", Number(b.dataset.id) === id);
    });
    poll();
    $("text").focus();
  }

  var ALLOWED = { B: 1, STRONG: 1, I: 1, EM: 1, U: 1, INS: 1, S: 1, STRIKE: 1, DEL: 1, CODE: 1, PRE: 1, A: 1,
                  SPAN: 1, BLOCKQUOTE: 1, "TG-SPOILER": 1 };

  // Telegram's HTML (its few tags) as DOM nodes; anything else becomes its text.
  function clean(node) {
    var fragment = document.createDocumentFragment();
    Array.prototype.forEach.call(node.childNodes, function (child) {
      if (child.nodeType === 3) {
        fragment.appendChild(document.createTextNode(child.textContent));
      } else if (child.nodeType === 1 && ALLOWED[child.tagName]) {
        var element = document.createElement(child.tagName === "TG-SPOILER" ? "span" : child.tagName.toLowerCase());
        if (child.tagName === "A" && /^(https?:|tg:)/i.test(child.getAttribute("href") || "")) {
          element.href = child.getAttribute("href");
          element.target = "_blank";
          element.rel = "noopener noreferrer";
        }
        element.appendChild(clean(child));
        fragment.appendChild(element);
      } else if (child.nodeType === 1) {
        fragment.appendChild(clean(child));
      }
    });
    return fragment;
  }

  function formatted(text, parseMode) {
    if (String(parseMode || "").toUpperCase() !== "HTML") { return document.createTextNode(text); }
    var doc = new DOMParser().parseFromString("<div>" + text + "</div>", "text/html");
    return clean(doc.body.firstChild || doc.body);
  }

  function fileUrl(file) { return config.api + "files/" + encodeURIComponent(file.file_id); }

  function bubble(message) {
    var div = document.createElement("div");
    div.className = "bubble " + (message.from === "bot" ? "bot" : "user");
    div.dataset.messageId = message.message_id;
    if (message.photo) {
      var img = document.createElement("img");
      img.src = message.photo.url || fileUrl(message.photo);
      img.alt = "photo";
      div.appendChild(img);
    }
    if (message.document) {
      var link = document.createElement("a");
      link.className = "document";
      link.href = fileUrl(message.document);
      link.textContent = "📄 " + (message.document.file_name || "file") + " (" + message.document.file_size + " B)";
      div.appendChild(link);
      div.appendChild(document.createElement("br"));
    }
    if (message.invoice) {
      var invoice = document.createElement("div");
      invoice.className = "invoice";
      invoice.textContent = "🧾 " + message.invoice.title + "\n" + message.invoice.description + "\n" +
        message.invoice.total_amount + " " + message.invoice.currency;
      div.appendChild(invoice);
    }
    var body = document.createElement("span");
    body.className = "text";
    body.appendChild(formatted(message.text !== undefined ? message.text : (message.caption || ""), message.parse_mode));
    div.appendChild(body);
    var rows = ((message.reply_markup || {}).inline_keyboard) || [];
    if (rows.length) {
      var buttons = document.createElement("div");
      buttons.className = "buttons";
      rows.forEach(function (row) {
        var line = document.createElement("div");
        line.className = "row";
        row.forEach(function (b) { line.appendChild(inlineButton(message, b)); });
        buttons.appendChild(line);
      });
      div.appendChild(buttons);
    }
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (message.pinned ? "📌 " : "") + (message.edit_date ? "edited · " : "") + new Date(message.date * 1000).toLocaleTimeString() +
      " · #" + message.message_id;
    div.appendChild(meta);
    return div;
  }

  function inlineButton(message, b) {
    var url = b.url || (b.web_app && b.web_app.url);
    var element = document.createElement(url ? "a" : "button");
    element.className = "inline-button";
    element.textContent = b.text;
    if (url) {
      element.href = url;
      element.target = "_blank";
      element.rel = "noopener noreferrer";
    } else {
      element.type = "button";
      element.dataset.data = b.callback_data || "";
      element.addEventListener("click", function () { pressButton(message.message_id, b.callback_data || ""); });
    }
    return element;
  }

  function render(view) {
    var box = $("messages");
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    box.textContent = "";
    view.messages.forEach(function (m) { box.appendChild(bubble(m)); });
    state.errors.forEach(function (note) {
      var div = document.createElement("div");
      div.className = "note error";
      div.textContent = "The Bot API refused " + note.method + ": " + note.description;
      box.appendChild(div);
    });
    if (atBottom || state.first) { box.scrollTop = box.scrollHeight; }
    var keyboard = $("keyboard");
    keyboard.textContent = "";
    view.keyboard.forEach(function (row) {
      var line = document.createElement("div");
      line.className = "row";
      row.forEach(function (label) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = label;
        button.addEventListener("click", function () { sendText(label); });
        line.appendChild(button);
      });
      keyboard.appendChild(line);
    });
  }

  function head(view) {
    var p = view.person;
    var head = $("chat-head");
    head.textContent = p.first_name + (p.username ? " (@" + p.username + ")" : "") + " · id " + p.id +
      " · " + (p.language_code || "");
    if (view.admin) {
      var badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "admin";
      head.appendChild(badge);
    }
  }

  var toastTimer = null;
  function answer(note) {
    if (!note.text) { return; }
    if (note.show_alert) {
      $("alert-text").textContent = note.text;
      $("alert").hidden = false;
      return;
    }
    $("toast").textContent = note.text;
    $("toast").hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { $("toast").hidden = true; }, 4000);
  }
  $("alert-ok").addEventListener("click", function () { $("alert").hidden = true; });

  function poll() {
    var id = state.current;
    if (id === null) { return Promise.resolve(); }
    return api("chats/" + id + "?after=" + state.seen).then(function (view) {
      if (id !== state.current) { return; }
      view.notes.forEach(function (note) {
        if (note.type === "error") { state.errors.push(note); } else if (!state.first) { answer(note); }
      });
      state.seen = Math.max(state.seen, view.seq);
      if (view.seq !== state.seq) {
        state.seq = view.seq;
        head(view);
        render(view);
      }
      state.first = false;
    }).catch(function (error) { showError("send-error", error); });
  }

  function act(path, options) {
    if (state.current === null) { return; }
    showError("send-error", null);
    api("chats/" + state.current + "/" + path, options)
      .then(function (data) { return deliver(data.update); })
      .then(function () { if (state.first === false && state.seq <= 0) { loadPeople(); } return poll(); })
      .catch(function (error) { showError("send-error", error); poll(); });
  }

  function sendText(text) { act("text", { method: "POST", json: { text: text } }); }

  function pressButton(messageId, data) { act("press", { method: "POST", json: { message_id: messageId, data: data } }); }

  $("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("text").value;
    if (!text.trim()) { return; }
    $("text").value = "";
    sendText(text);
  });

  $("photo").addEventListener("change", function () {
    var file = $("photo").files[0];
    if (!file || state.current === null) { return; }
    var form = new FormData();
    form.append("photo", file);
    $("photo").value = "";
    act("photo", { method: "POST", body: form });
  });

  loadPeople();
  setInterval(poll, 1000);
  setInterval(loadPeople, 15000);
})();
