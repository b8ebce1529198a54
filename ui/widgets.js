// Pieces the pages share: the node health bar, the count strip, summary
// tiles and the two-step online/offline switch.
import { h, num } from "./dom.js";
import { NODE_STATES, NODE_STATE_LABEL } from "./health.js";

// A bar split by node state, proportional to the counts.
export function healthBar(counts) {
  const bar = h("div.hbar", {
    role: "img",
    "aria-label": NODE_STATES.map((s) => `${counts[s]} ${s}`).join(", "),
  });
  for (const s of NODE_STATES) {
    if (!counts[s]) continue;
    const seg = h(`span.hbar-${s}`, { title: `${counts[s]} ${NODE_STATE_LABEL[s].toLowerCase()}` });
    seg.style.flexGrow = String(counts[s]);
    bar.append(seg);
  }
  if (!counts.total) bar.classList.add("hbar-empty");
  return bar;
}

// "3 up · 1 down · 1 offline", only the non-zero ones, each in its colour.
export function countText(counts) {
  const parts = [];
  for (const s of NODE_STATES) {
    if (!counts[s]) continue;
    if (parts.length) parts.push(h("span.sep", null, " · "));
    parts.push(h(`span.c-${s}`, { dataset: { count: s } }, `${counts[s]} ${s}`));
  }
  if (!parts.length) parts.push(h("span.c-offline", null, "no nodes"));
  return h("span.counts", null, parts);
}

// A figure with a label; `kind` colours it when it deserves attention;
// `sub` is a line (or an array of lines) of detail.
export function tile(label, value, kind = "", sub = "") {
  const lines = (Array.isArray(sub) ? sub : [sub]).filter(Boolean);
  return h(`div.tile${kind ? ".tile-" + kind : ""}`, { dataset: { tile: label } },
    h("div.tile-value", { title: String(value) }, num(value)),
    h("div.tile-label", null, label),
    lines.map((l) => h("div.tile-sub", { title: l }, l)));
}

// The online/offline switch shown in write mode. The first click arms it
// (it asks "Set offline?"), a second click within 4 s sends the write, so a
// stray click never takes a node out.
export function onlineSwitch(online, what, send) {
  const label = online ? "Online" : "Offline";
  const b = h(`button.switch.${online ? "switch-on" : "switch-off"}`, {
    type: "button",
    title: `${what} is ${label.toLowerCase()}; click to change`,
    "aria-pressed": String(online),
  }, h("span.knob"), h("span.switch-text", null, label));
  let armed = null;
  b.addEventListener("click", async () => {
    const text = b.querySelector(".switch-text");
    if (!armed) {
      // Taking something out is red; putting it back is the calm blue.
      b.classList.add("armed", online ? "armed-out" : "armed-in");
      text.textContent = online ? "Set offline?" : "Set online?";
      armed = setTimeout(() => {
        armed = null;
        b.classList.remove("armed", "armed-out", "armed-in");
        text.textContent = label;
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    b.disabled = true;
    text.textContent = "…";
    await send(!online);
  });
  return b;
}

// A read-only online/offline word.
export function onlineWord(online) {
  return h(`span.onoff.${online ? "onoff-on" : "onoff-off"}`, null, online ? "online" : "offline");
}
