/*
 * The simulated chat's page script: send a prompt, stream the reply over SSE, and show
 * busy errors in the form the server chose (inline bubble text, an error row with Retry,
 * or a toast). The DOM it builds is a contract: the site profile and the busy detector
 * select on these class names, roles and attributes, so change them only together.
 *
 * Two transcript markups (config.markup, see settings.MARKUPS): "2025", the simulator's
 * own stable DOM, and "2026", DeepSeek's live page as a third party captured it (turns in
 * div.ds-virtual-list-visible-items, the person's turn div.ds-message, the answer a plain
 * div.ds-markdown whose action bar with 复制 only shows once it is complete, a busy turn
 * as 重试 inside the person's turn plus a sibling row with hashed classes only). Each
 * markup is a `view`; the streaming, sign-in and conversation logic is shared.
 * config.dom says where the page's own controls are (the 2026 page has hashed names).
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

  const dom = config.dom || {};
  const messages = $(dom.messages || ".chat-messages");
  const input = $(dom.input || "#chat-input");
  const sendButton = $(dom.send || ".send-button");
  const newChatButton = $(dom.newChat || ".new-chat-button");
  const fileInput = $(dom.fileInput || ".upload-button input[type=file]");
  const attachments = $(dom.attachments || ".attachments");
  const toasts = $(dom.toasts || ".toast-container");
  const form = dom.form === null ? null : $(dom.form || ".composer");

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

  /* Keep the two "busy" signals in step: the send button's aria-disabled and (2025 only,
   * the live page has no such attribute) data-generating. */
  function refresh() {
    if (view.flagsGenerating) messages.dataset.generating = String(generating);
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
    runTurn(prompt, view.user(prompt));
  }

  /* One completion request for `prompt`, its reply placed right after `user`. */
  async function runTurn(prompt, user) {
    const mine = (controller = new AbortController());
    generating = true;
    refresh();
    const turn = { prompt, user, after: user };
    if (config.hiddenBusyRow) view.hiddenBusyRow(turn, config.hiddenBusyRow);
    view.reply(turn);
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
          view.finished(turn);
        }
      }
    }
    // Closed without finishing and without saying why: a stalled or truncated stream.
    if (!finished && !failed) view.incomplete(turn);
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

  /* Show a busy or error text in the page's busy form (the 2026 markup has only its row). */
  function showError(turn, text) {
    if (config.busyForm === "inline") {
      // clear_response: the text replaces whatever had streamed, it is not appended.
      turn.bubble.textContent = text;
      return;
    }
    turn.reply.remove();
    if (config.busyForm === "row") {
      view.errorRow(turn, text, () => {
        if (generating) return false;
        runTurn(turn.prompt, turn.user); // re-ask: a new completion request for the same message
        return true;
      });
    } else {
      const toast = el("div", "toast toast--error", text);
      toast.setAttribute("role", "status");
      toasts.append(toast);
      setTimeout(() => toast.remove(), config.toastMs);
    }
  }

  /* Put `node` after what the turn shows so far, and make it the turn's last element. */
  function place(turn, node) {
    turn.after.after(node);
    turn.after = node;
  }

  /*
   * The 2025 markup: the simulator's own stable DOM, the one simulator.yaml names.
   *   div.message.message--user (the prompt)
   *   div.message.message--assistant > div.ds-markdown.ds-markdown--block (the reply)
   *   div.message-error[role=alert] > span.message-error__text + div[role=button].retry-button
   */
  const VIEW_2025 = {
    flagsGenerating: true,
    user(prompt) {
      const user = el("div", "message message--user", prompt);
      messages.append(user);
      return user;
    },
    reply(turn) {
      turn.reply = el("div", "message message--assistant");
      turn.bubble = el("div", "ds-markdown ds-markdown--block");
      turn.reply.append(turn.bubble);
      place(turn, turn.reply);
    },
    finished() {},
    incomplete(turn) {
      turn.reply.classList.add("message--incomplete");
    },
    errorRow(turn, text, reAsk) {
      const row = VIEW_2025.row(text);
      row.append(
        button("retry-button retry-button--warning", T.retry, () => {
          if (reAsk()) row.remove();
        }),
      );
      turn.user.after(row);
    },
    row(text) {
      const row = el("div", "message-error");
      row.setAttribute("role", "alert");
      row.append(el("span", "message-error__text", text));
      return row;
    },
    hiddenBusyRow(turn, style) {
      const row = VIEW_2025.row(T.busy);
      row.setAttribute("style", style);
      place(turn, row);
    },
  };

  /*
   * The 2026 markup [3P]: one child div of div.ds-virtual-list-visible-items per turn.
   *   div.ds-message > div (the prompt)                          the person's turn
   *   div._4f9bf79 > div.ds-markdown (the answer)                  the answer's turn, and once
   *                + div._0a3d93b (32 px) > button.ds-button--icon "复制"   it is complete
   *   busy: the answer's turn is gone; div[role=button].ds-button--warning "重试" is
   *   appended inside div.ds-message, and the refusal is the next row, hashed classes only:
   *   div._11d6b3a > span._1ce76f5 "Server busy, please try again later."
   */
  const VIEW_2026 = {
    flagsGenerating: false,
    user(prompt) {
      const user = el("div", "ds-message _63c77b1");
      user.append(el("div", "fbb737a4", prompt));
      messages.append(user);
      return user;
    },
    reply(turn) {
      turn.reply = el("div", "_4f9bf79 _43c05b5");
      turn.bubble = el("div", "ds-markdown");
      turn.reply.append(turn.bubble);
      place(turn, turn.reply);
    },
    finished(turn) {
      // The action bar only comes with a complete answer: without it, it is still streaming.
      const bar = el("div", "_0a3d93b");
      const copy = el("button", "ds-button ds-button--icon _7db3914");
      copy.type = "button";
      copy.setAttribute("aria-label", T.copy);
      copy.append(el("span", "_4e8a0f1", T.copy));
      copy.addEventListener("click", () => navigator.clipboard?.writeText(turn.bubble.textContent).catch(() => {}));
      bar.append(copy);
      turn.reply.append(bar);
    },
    incomplete() {}, // the answer stays as far as it came, with no action bar
    errorRow(turn, text, reAsk) {
      const row = VIEW_2026.row(text);
      const retry = button("ds-button ds-button--warning ds-button--bordered _3172d9f", undefined, () => {
        if (reAsk()) {
          retry.remove();
          row.remove();
        }
      });
      retry.append(el("span", "ds-button__text", T.retry));
      turn.user.append(retry);
      turn.user.after(row);
    },
    row(text) {
      const row = el("div", "_11d6b3a");
      row.append(el("span", "_1ce76f5", text));
      return row;
    },
    hiddenBusyRow(turn, style) {
      const row = VIEW_2026.row(T.busy);
      row.setAttribute("style", style);
      place(turn, row);
    },
  };

  const view = config.markup === "2026" ? VIEW_2026 : VIEW_2025;

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
  form?.addEventListener("submit", (event) => event.preventDefault());
  refresh();
})();
