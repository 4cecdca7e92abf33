/*
 * The in-page half of `assistant probe-site`: find a chat's controls the way a person
 * would, and name each with a selector that survives the next deploy. Installs
 * window.__probe; every finder returns {selector, how, text} or null.
 *
 * Selectors prefer what sites keep stable (ids that read like words, name, data-testid,
 * aria-label, placeholder, role, data-* attributes, class names without digits or hash
 * look) over position; nth-of-type is never used.
 */
(() => {
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  const q = (v) => JSON.stringify(v);
  const EDIT = 'textarea, input, [contenteditable=""], [contenteditable="true"]';
  const ROLEISH = /assistant|bot|answer|response|reply|model/i;
  const STATEFUL = /state|status|active|selected|open|hover|focus|generating|loading|busy|disabled|index|id$/i;

  const visible = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const stableId = (id) => /^[A-Za-z][\w-]{0,39}$/.test(id) && !/\d{3,}/.test(id) && !/^(radix|headlessui|react|mui|ember)/i.test(id);
  const stableClass = (c) => /^[A-Za-z][\w-]{0,39}$/.test(c) && !/\d/.test(c) && !(c.length <= 7 && /[A-Z]/.test(c.slice(1)));
  const stableValue = (v) => v && v.length <= 40 && !/\d{3,}|^[0-9a-f-]{16,}$/i.test(v) && !/^(true|false)$/.test(v);

  /* Simple selectors for one element, most stable first; the bare tag name last. */
  function parts(el) {
    const tag = el.tagName.toLowerCase(), out = [];
    if (el.id && stableId(el.id)) out.push(`${tag}#${CSS.escape(el.id)}`);
    for (const a of ["name", "data-testid", "data-test", "data-qa", "aria-label", "placeholder", "title"]) {
      const v = el.getAttribute(a);
      if (v && v.length <= 60) out.push(`${tag}[${a}=${q(v)}]`);
    }
    for (const a of el.getAttributeNames()) {
      if (a.startsWith("data-") && !/^data-(testid|test|qa)$/.test(a) && !STATEFUL.test(a.slice(5)) && stableValue(el.getAttribute(a)))
        out.push(`${tag}[${a}=${q(el.getAttribute(a))}]`);
    }
    if (el.getAttribute("role")) out.push(`${tag}[role=${q(el.getAttribute("role"))}]`);
    const classes = [...el.classList].filter(stableClass);
    classes.forEach((c) => out.push(`${tag}.${CSS.escape(c)}`));
    if (classes.length > 1) out.push(`${tag}.${classes.map((c) => CSS.escape(c)).join(".")}`);
    out.push(tag);
    return out;
  }

  const matches = (sel) => { try { return [...document.querySelectorAll(sel)]; } catch { return []; } };
  const ancestors = (el, n) => { const out = []; for (let a = el.parentElement; a && a !== document.body && out.length < n; a = a.parentElement) out.push(a); return out; };

  /* A selector that picks `el` and nothing else; scoped by an ancestor when it must be. */
  function unique(el) {
    const only = (sel) => { const m = matches(sel); return m.length === 1 && m[0] === el; };
    const own = parts(el);
    for (const p of own) if (only(p)) return p;
    for (const a of ancestors(el, 4)) for (const scope of parts(a)) if (only(scope)) for (const p of own) if (only(`${scope} ${p}`)) return `${scope} ${p}`;
    return null;
  }

  const labelOf = (el) => norm([...new Set([el.getAttribute("placeholder"), el.getAttribute("aria-label"), el.getAttribute("title"),
    el.getAttribute("data-placeholder"), el.labels && el.labels[0] && el.labels[0].innerText].map(norm).filter(Boolean))].join(" "));
  const describe = (el) => { const l = labelOf(el) || norm(el.innerText).slice(0, 40); return el.tagName.toLowerCase() + (l ? ` "${l}"` : ""); };
  const found = (el, how) => { const selector = el && unique(el); return selector ? { selector, how: `${how}: ${describe(el)}`, text: null } : null; };

  function composer() {
    const MESSAGE = /message|ask|chat|prompt|question|type|write|talk|anything|send|问|消息|输入|发送|对话|聊/i;
    const NOT = /search|搜索|filter|e-?mail|password|user ?name|login/i;
    const inputs = matches('textarea, [contenteditable=""], [contenteditable="true"], [role=textbox], input[type=text], input:not([type])')
      .filter((el) => visible(el) && !el.disabled && !el.readOnly);
    const score = (el) => (el.tagName === "TEXTAREA" || el.isContentEditable ? 3 : 1) + (MESSAGE.test(labelOf(el)) ? 3 : 0)
      - (NOT.test(`${labelOf(el)} ${el.name || ""} ${el.type || ""}`) ? 6 : 0) + (el.closest("form") ? 1 : 0);
    const best = inputs.sort((a, b) => score(b) - score(a))[0];
    return best && score(best) > 0 ? found(best, "composer") : null;
  }

  function send(composerSel) {
    const box = document.querySelector(composerSel), form = box && box.closest("form");
    const submit = form && [...form.querySelectorAll('button[type=submit], input[type=submit], button:not([type])')].find(visible);
    if (submit) return found(submit, "the submit button of the composer's form");
    const SEND = /^(send|submit|send message|发送|提交)/i;
    const near = (el) => { let depth = 0; for (let a = el; a && !a.contains(box); a = a.parentElement) depth++; return depth; };
    const buttons = matches('button, [role=button], input[type=submit]').filter((b) => visible(b)
      && SEND.test(norm(b.getAttribute("aria-label") || b.getAttribute("title") || b.innerText || b.value)));
    return found(buttons.sort((a, b) => near(a) - near(b))[0], "a button labelled send");
  }

  function newChat() {
    const NEW = /^(new chat|start over|new conversation|开启新对话|新建会话|新建对话|新对话|新建聊天)$/i;
    const el = matches('a, button, [role=button], [role=link], [role=menuitem]').filter(visible)
      .find((e) => NEW.test(norm(e.innerText) || norm(e.getAttribute("aria-label"))));
    const hit = found(el, "labelled");
    if (hit) hit.text = norm(el.innerText) || null;
    return hit;
  }

  function features() {
    const input = document.querySelector("input[type=file]");
    if (!input) return {};
    const label = input.closest("label");
    const trigger = label && visible(label) ? label : matches("button, [role=button], label").filter(visible)
      .find((b) => /upload|attach|image|file|photo|上传|图片|附件|文件/i.test(`${b.getAttribute("aria-label")} ${b.getAttribute("title")} ${b.innerText}`));
    const hit = found(trigger || input, trigger ? "the control of a file input" : "a file input");
    return hit ? { image_upload: hit } : {};
  }

  /* The new element that holds exactly the reply's text, outside the person's own message,
     and a selector for replies like it: one that never picks the person's messages. */
  function reply(text, prompt) {
    const seen = window.__assistantSeen || new WeakSet(), want = norm(text), mine = norm(prompt);
    const all = [...document.body.querySelectorAll("*")];
    const users = all.filter((el) => norm(el.textContent) === mine);
    const theirs = (m) => users.some((u) => u.contains(m) || m.contains(u)) || m.matches(EDIT) || !!m.querySelector(EDIT);
    const hits = all.filter((el) => !seen.has(el) && !theirs(el) && norm(el.innerText) === want);
    const el = hits[hits.length - 1];  // nested equal texts: the innermost comes last
    if (!el) return null;
    const ok = (sel) => { const m = matches(sel); return m.includes(el) && !m.some(theirs); };
    const own = parts(el), tag = el.tagName.toLowerCase();
    const tries = [
      ...own.filter((p) => ROLEISH.test(p)),
      ...ancestors(el, 4).flatMap((a) => parts(a).filter((p) => ROLEISH.test(p)).flatMap((s) => own.map((p) => `${s} ${p}`))),
      ...own.filter((p) => p !== tag),
    ];
    const selector = tries.find(ok);
    return selector ? { selector, how: `the new element that got the reply: ${describe(el)}`, text: want } : null;
  }

  window.__probe = { composer, send, newChat, features, reply };
})();
