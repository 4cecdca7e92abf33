/*
 * The simulated chat's page script: send a prompt, stream the reply over SSE, and show
 * busy errors in the form the server chose (inline bubble text, an error row with Retry,
 * or a toast). The DOM it builds is a contract: the site profile and the busy detector
 * select on these class names, roles and attributes, so change them only together.
 *
 * The server serves this file as /static/bundle.js behind a line that sets window.simBuild
 * (the build's id and the completion endpoint it was built against): the stale-cache
 * scenario's old build is this same script pointed at a retired endpoint.
 */
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("sim-config").textContent);
  const T = config.texts;
  const $ = (selector) => document.querySelector(selector);
  const build = window.simBuild || { id: "dev", completion: "/api/v0/chat/completion" };
  document.documentElement.dataset.build = build.id; // which build ran, for whoever debugs it

  /* Like DeepSeek, keep the sign-in in localStorage: clearing cookies alone does not sign out. */
  if (!localStorage.getItem("userToken")) {
    const token = "sim-token-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    localStorage.setItem("userToken", JSON.stringify({ value: token, __version: "0" }));
  }

  const messages = $(".chat-messages");
  const input = $("#chat-input");
  const sendButton = $(".send-button");
  const newChatButton = $(".new-chat-button");
  const fileInput = $(".upload-button input[type=file]");
  const attachments = $(".attachments");
  const toasts = $(".toast-container");

  let chatId = chatIdFromPath(location.pathname);
  let parentId = null;
  let generating = false;
  let controller = null; // the running turn's AbortController; New chat aborts it

  function chatIdFromPath(path) {
    const match = path.match(/^\/a\/chat\/s\/([^/]+)/);
    return match ? decodeURIComponent(match[1]) : null;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(className, text, onActivate) {
    const node = el("div", className, text);
    node.setAttribute("role", "button");
    node.tabIndex = 0;
    node.addEventListener("click", onActivate);
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        onActivate();
      }
    });
    return node;
  }

  /* Keep the two "busy" signals in step: the send button's aria-disabled and data-generating. */
  function refresh() {
    messages.dataset.generating = String(generating);
    sendButton.setAttribute("aria-disabled", String(generating || input.value.trim() === ""));
  }

  /* Like DeepSeek's web client: the sign-in token rides in Authorization on every API call. */
  function authHeaders() {
    let token = "";
    try {
      token = JSON.parse(localStorage.getItem("userToken") || "{}").value || "";
    } catch (_) {
      token = "";
    }
    return { Authorization: "Bearer " + token, "X-Client-Platform": "web" };
  }

  async function postJson(url, body, signal) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify(body),
      signal,
    });
  }

  /* Like the real site, a conversation gets its id on the first send or on New chat. */
  async function createChat() {
    const response = await postJson("/api/v0/chat_session/create", {});
    const body = await response.json();
    chatId = body.data.biz_data.id;
    parentId = null;
    history.pushState({}, "", `/a/chat/s/${encodeURIComponent(chatId)}`);
    return chatId;
  }

  function send() {
    const prompt = input.value.trim();
    if (generating || prompt === "") return;
    input.value = "";
    attachments.replaceChildren();
    const user = el("div", "message message--user", prompt);
    messages.append(user);
    runTurn(prompt, user);
  }

  /* One completion request for `prompt`, its reply placed right after `user`. */
  async function runTurn(prompt, user) {
    const mine = (controller = new AbortController());
    generating = true;
    refresh();
    const reply = el("div", "message message--assistant");
    const bubble = el("div", "ds-markdown ds-markdown--block");
    reply.append(bubble);
    user.after(reply);
    const turn = { prompt, user, reply, bubble };
    try {
      const id = chatId || (await createChat());
      const response = await postJson(
        build.completion,
        { chat_session_id: id, prompt, parent_message_id: parentId },
        mine.signal,
      );
      if (!response.ok) {
        showError(turn, textForStatus(response.status));
      } else {
        await readStream(response, turn);
      }
    } catch (error) {
      if (error.name !== "AbortError") showError(turn, T.errorGeneric);
    } finally {
      if (controller === mine) {
        controller = null;
        generating = false;
        refresh();
      }
    }
  }

  function textForStatus(status) {
    if (status === 429) return T.rateLimit;
    if (status === 503) return T.busy;
    return T.errorGeneric;
  }

  /* Read the SSE body frame by frame; comment frames (heartbeats) carry no data and are skipped. */
  async function readStream(response, turn) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let finished = false;
    let failed = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r/g, "");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = parseFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (!frame) continue;
        if (frame.event === "ready") {
          parentId = frame.data.response_message_id ?? parentId;
        } else if (frame.event === "message" && typeof frame.data.v === "string") {
          turn.bubble.textContent += frame.data.v;
        } else if (frame.event === "hint" && frame.data.type === "error") {
          failed = true;
          showError(turn, frame.data.content || T.busy);
        } else if (frame.event === "finish") {
          finished = true;
        }
      }
    }
    // Closed without finishing and without saying why: a stalled or truncated stream.
    if (!finished && !failed) turn.reply.classList.add("message--incomplete");
  }

  function parseFrame(text) {
    let event = "message";
    const data = [];
    for (const line of text.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length === 0) return null;
    try {
      return { event, data: JSON.parse(data.join("\n")) };
    } catch {
      return null;
    }
  }

  /* Show a busy or error text in the page's busy form. */
  function showError(turn, text) {
    if (config.busyForm === "inline") {
      // clear_response: the text replaces whatever had streamed, it is not appended.
      turn.bubble.textContent = text;
      return;
    }
    turn.reply.remove();
    if (config.busyForm === "row") {
      const row = el("div", "message-error");
      row.setAttribute("role", "alert");
      row.append(el("span", "message-error__text", text));
      row.append(
        button("retry-button retry-button--warning", T.retry, () => {
          if (generating) return;
          row.remove();
          runTurn(turn.prompt, turn.user);
        }),
      );
      turn.user.after(row);
    } else {
      const toast = el("div", "toast toast--error", text);
      toast.setAttribute("role", "status");
      toasts.append(toast);
      setTimeout(() => toast.remove(), config.toastMs);
    }
  }

  async function newChat() {
    if (controller) controller.abort();
    controller = null;
    generating = false;
    messages.replaceChildren();
    chatId = null;
    refresh();
    await createChat();
  }

  input.addEventListener("input", refresh);
  input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a newline; Enter that confirms an IME composition is neither.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  sendButton.addEventListener("click", send);
  sendButton.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      send();
    }
  });
  newChatButton.addEventListener("click", newChat);
  newChatButton.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      newChat();
    }
  });
  // The upload control is gone when the server hides the image_upload feature.
  fileInput?.addEventListener("change", () => {
    attachments.replaceChildren(...[...fileInput.files].map((file) => el("span", "attachment", file.name)));
  });
  $(".composer").addEventListener("submit", (event) => event.preventDefault());
  refresh();
})();
