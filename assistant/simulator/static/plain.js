/*
 * The plain skin's page script: a generic chat that posts to the conversation endpoint and
 * reads an OpenAI-like SSE stream, `data: {"choices":[{"delta":{"content":...}}]}` lines
 * ending in `data: [DONE]`, or `: ping` comments then `data: {"error":{...}}` when the
 * server is overloaded. Errors show in the page's busy form: inline (the bot's prose holds
 * only the error text), a danger notice with "Try again", or a snackbar.
 *
 * Its DOM is a contract with playbooks/sites/simulator-plain.yaml; change them together.
 * The server serves this file as /assets/app.js behind a line that sets
 * window.__APP_BUILD__ (build id and conversation endpoint): stale-cache's old build is
 * this same script pointed at a retired endpoint.
 */
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("app-config").textContent);
  const T = config.texts;
  const build = window.__APP_BUILD__ || { id: "dev", conversation: "/backend/conversation" };
  document.documentElement.dataset.build = build.id;

  /* The sign-in lives in localStorage, so clearing cookies alone does not sign out. */
  if (!localStorage.getItem("access_token")) {
    localStorage.setItem("access_token", "sim-plain-" + Math.random().toString(36).slice(2) + Date.now().toString(36));
  }

  const form = document.querySelector("form.composer");
  const input = form.querySelector("textarea[name=prompt]");
  const submit = form.querySelector("button[type=submit]");
  const attach = form.querySelector(".composer__attach"); // absent when image_upload is hidden
  const fileInput = form.querySelector("input[type=file]");
  const files = form.querySelector(".composer__files");
  const thread = document.querySelector("section.thread");
  const startOver = document.querySelector("a.start-over");
  const snackbars = document.querySelector(".snackbar-host");

  let conversationId = idFromPath(location.pathname);
  let generating = false;
  let controller = null; // the running turn's AbortController; Start over aborts it

  function idFromPath(path) {
    const match = path.match(/^\/c\/([^/]+)/);
    return match ? decodeURIComponent(match[1]) : null;
  }

  function make(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* aria-busy on the thread and the disabled submit button tell the same story. */
  function refresh() {
    thread.setAttribute("aria-busy", String(generating));
    submit.disabled = generating || input.value.trim() === "";
  }

  function requestHeaders() {
    return {
      "Content-Type": "application/json",
      Accept: "text/event-stream",
      Authorization: "Bearer " + (localStorage.getItem("access_token") || ""),
      "X-Client-Platform": "web",
    };
  }

  /* The server names a new conversation in a response header; its URL is /c/<id>. */
  function adopt(id) {
    if (!id || id === conversationId) return;
    conversationId = id;
    history.pushState({}, "", "/c/" + encodeURIComponent(id));
  }

  function submitPrompt() {
    const prompt = input.value.trim();
    if (generating || prompt === "") return;
    input.value = "";
    files.replaceChildren();
    if (fileInput) fileInput.value = "";
    const mine = make("article", { "data-author": "user" }, prompt);
    thread.append(mine);
    ask(prompt, mine);
  }

  /* One request for `prompt`; the bot's article goes right after `after`. */
  async function ask(prompt, after) {
    const mine = (controller = new AbortController());
    generating = true;
    refresh();
    const bot = make("article", { "data-author": "bot" });
    const prose = make("div", { class: "prose" });
    bot.append(prose);
    after.after(bot);
    const turn = { prompt, after, bot, prose };
    try {
      const response = await fetch(build.conversation, {
        method: "POST",
        headers: requestHeaders(),
        body: JSON.stringify({
          action: "next",
          conversation_id: conversationId,
          messages: [{ role: "user", content: prompt }],
        }),
        signal: mine.signal,
      });
      adopt(response.headers.get("X-Conversation-Id"));
      if (response.ok) await read(response, turn);
      else fail(turn, await errorText(response));
    } catch (error) {
      if (error.name !== "AbortError") fail(turn, T.errorGeneric);
    } finally {
      if (controller === mine) {
        controller = null;
        generating = false;
        refresh();
      }
    }
  }

  /* Overload and rate limit show the server's own message; anything else the generic one. */
  async function errorText(response) {
    const fallback = { 429: T.rateLimit, 503: T.busy }[response.status];
    if (!fallback) return T.errorGeneric;
    try {
      return (await response.json()).error.message || fallback;
    } catch {
      return fallback;
    }
  }

  /* Line by line: `data:` lines carry JSON or [DONE]; comments and blank lines carry nothing. */
  async function read(response, turn) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let finished = false;
    let failed = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r?\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") {
          finished = true;
          continue;
        }
        let chunk;
        try {
          chunk = JSON.parse(data);
        } catch {
          continue;
        }
        if (chunk.error) {
          failed = true;
          fail(turn, chunk.error.message || T.busy);
        } else {
          const text = chunk.choices?.[0]?.delta?.content;
          if (typeof text === "string") turn.prose.textContent += text;
        }
      }
    }
    // Ended without [DONE] and without an error: a stalled or truncated stream.
    if (!finished && !failed) turn.bot.dataset.state = "incomplete";
  }

  /* Show an error text in the page's busy form. */
  function fail(turn, text) {
    if (config.busyForm === "inline") {
      turn.prose.textContent = text; // replaces whatever had streamed
      turn.bot.dataset.state = "error";
      return;
    }
    turn.bot.remove();
    if (config.busyForm === "row") {
      const notice = make("div", { class: "notice notice--danger" });
      notice.append(make("span", { class: "notice__text" }, text));
      const again = make("button", { type: "button", class: "notice__action" }, T.retry);
      again.addEventListener("click", () => {
        if (generating) return;
        notice.remove();
        ask(turn.prompt, turn.after);
      });
      notice.append(again);
      turn.after.after(notice);
    } else {
      const bar = make("div", { class: "snackbar", "aria-live": "assertive" }, text);
      snackbars.append(bar);
      setTimeout(() => bar.remove(), config.toastMs);
    }
  }

  function startAgain(event) {
    event.preventDefault(); // a plain link to / without the script; no reload with it
    if (controller) controller.abort();
    controller = null;
    generating = false;
    thread.replaceChildren();
    conversationId = null;
    if (location.pathname !== "/") history.pushState({}, "", "/");
    refresh();
  }

  input.addEventListener("input", refresh);
  input.addEventListener("keydown", (event) => {
    // Enter submits, Shift+Enter is a newline; Enter that confirms an IME composition is neither.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitPrompt();
  });
  startOver.addEventListener("click", startAgain);
  attach?.addEventListener("click", () => fileInput.click());
  fileInput?.addEventListener("change", () => {
    files.replaceChildren(...[...fileInput.files].map((file) => make("span", { class: "composer__file" }, file.name)));
  });
  refresh();
})();
