// Drives Debian's headless Chromium for the browser tests (playwright-core; no browser is downloaded).
//
// One browser for a whole test session. It reads one JSON command per line on stdin and answers one
// JSON line on stdout: {"ok": true, ...} or {"ok": false, "error": "..."}. Every wait is bounded.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT_MS = 15000;
// Without these, Chromium reaches for the network (updates, sync, QUIC probes) on start.
const ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

const browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS, timeout: TIMEOUT_MS });
let page = null;
let record = null;

function viewFrame() {
  const frame = page.frames().find((candidate) => candidate.url().endsWith("/view.html"));
  if (!frame) throw new Error("the view's frame is not there");
  return frame;
}

// What a person sees, read from the view's DOM.
function readView() {
  const text = (selector) => {
    const node = document.querySelector(selector);
    return node ? node.textContent.replace(/\s+/g, " ").trim() : null;
  };
  // innerText: what is rendered (a column hidden on a narrow frame is not read as if it were shown).
  const cell = (node) => node.innerText.replace(/\s+/g, " ").trim();
  const tables = [...document.querySelectorAll("table")].map((table) => ({
    id: table.id || null,
    className: table.className,
    caption: table.caption ? cell(table.caption) : null,
    head: table.tHead ? [...table.tHead.rows].map((row) => [...row.cells].map(cell)) : [],
    body: [...table.tBodies].flatMap((body) => [...body.rows]).map((row) => ({
      className: row.className,
      cells: [...row.cells].map((c) => ({ tag: c.tagName.toLowerCase(), scope: c.getAttribute("scope"), text: cell(c) })),
    })),
    foot: table.tFoot ? [...table.tFoot.rows].map((row) => ({
      className: row.className,
      cells: [...row.cells].map((c) => ({ tag: c.tagName.toLowerCase(), scope: c.getAttribute("scope"), text: cell(c) })),
    })) : [],
  }));
  const bars = [...document.querySelectorAll(".bar")].map((bar) => ({
    currency: bar.closest("section").dataset.currency,
    bucket: bar.dataset.bucket,
    permille: Number(bar.dataset.permille),
    width: bar.getBoundingClientRect().width,
    track: bar.parentElement.getBoundingClientRect().width,
  }));
  const body = getComputedStyle(document.body);
  return {
    kind: document.getElementById("view").dataset.kind || null,
    title: document.title,
    theme: document.documentElement.dataset.theme || null,
    background: body.backgroundColor,
    color: body.color,
    number: text("#number"),
    otherNumber: text("#other-number"),
    status: text("#status"),
    overdue: text("#overdue"),
    seller: text("#seller"),
    sellerLabel: document.getElementById("seller")?.previousElementSibling?.textContent ?? null,
    billedTo: text("#billed-to"),
    amountDue: text("#amount-due"),
    summary: text("#summary-text"),
    error: text("#error"),
    buttons: [...document.querySelectorAll("button")].map((button) => ({ id: button.id, text: cell(button) })),
    tables,
    bars,
    cards: [...document.querySelectorAll("section.currency")].map((section) => ({
      currency: section.dataset.currency,
      values: Object.fromEntries([...section.querySelectorAll(".card")].map((card) => [card.classList[1], card.querySelector(".value").textContent])),
    })),
    text: document.body.innerText,
    scrollWidth: document.documentElement.scrollWidth,
    // Tables wider than their scrolling wrapper: a person would have to scroll sideways to see them whole.
    cutOffTables: [...document.querySelectorAll(".table-wrap")]
      .filter((wrap) => wrap.scrollWidth > wrap.clientWidth + 1).map((wrap) => wrap.querySelector("table").id),
    // Elements that stick out of the frame sideways (a table may scroll inside its own wrapper).
    overflowing: [...document.querySelectorAll("body *")]
      .filter((node) => !node.closest(".table-wrap") && node.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .map((node) => `${node.tagName.toLowerCase()}${node.id ? "#" + node.id : ""}.${node.className}`),
    clientWidth: document.documentElement.clientWidth,
  };
}

const commands = {
  // Load the host page for one scenario, wait until the view shows the result and the host has sized
  // the frame to it, and read the view (and take a screenshot of the frame when asked).
  async render({ url, screenshot }) {
    if (page) await page.close();
    page = await browser.newPage({ viewport: { width: 800, height: 900 }, colorScheme: "light" });
    record = { requests: [], console: [], pageErrors: [] };
    page.on("request", (request) => record.requests.push({ url: request.url(), frame: request.frame().url() }));
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") record.console.push(`${message.type()}: ${message.text()}`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) record.console.push(`http ${response.status()}: ${response.url()}`);
    });
    page.on("pageerror", (error) => record.pageErrors.push(String(error)));
    await page.goto(url, { timeout: TIMEOUT_MS });
    await page.waitForFunction(() => window.__host && (window.__host.delivered || window.__host.failures.length), null, { timeout: TIMEOUT_MS });
    const frame = viewFrame();
    await frame.waitForSelector("main[data-kind]", { timeout: TIMEOUT_MS });
    const height = await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
    await page.waitForFunction((wanted) => window.__host.sizes.at(-1) === wanted, height, { timeout: TIMEOUT_MS });
    if (screenshot) {
      // A frame is painted only where the viewport reaches: make it tall enough for the whole view.
      await page.setViewportSize({ width: 800, height: Math.max(900, height + 60) });
      await (await frame.frameElement()).screenshot({ path: screenshot, timeout: TIMEOUT_MS });
    }
    return { view: await frame.evaluate(readView), host: await page.evaluate(() => window.__host), record };
  },
  // Click a control of the view, then wait until the host has recorded `until` (a key of __host).
  async click({ selector, until }) {
    await viewFrame().click(selector, { timeout: TIMEOUT_MS });
    await page.waitForFunction((key) => window.__host[key].length > 0, until, { timeout: TIMEOUT_MS });
    return { host: await page.evaluate(() => window.__host), view: await viewFrame().evaluate(readView) };
  },
  // The host switches its theme; wait until the view has followed, and read it.
  async theme({ theme }) {
    await page.evaluate((next) => window.__setTheme(next), theme);
    const frame = viewFrame();
    await frame.waitForFunction((next) => document.documentElement.dataset.theme === next, theme, { timeout: TIMEOUT_MS });
    return { view: await frame.evaluate(readView) };
  },
  // Wait until the host has recorded `until` (a key of __host).
  async wait_host({ until }) {
    await page.waitForFunction((key) => window.__host[key].length > 0, until, { timeout: TIMEOUT_MS });
    return { host: await page.evaluate(() => window.__host) };
  },
  // Press keys in the view (it has the focus first), and say which control has the focus after each.
  async keys({ keys }) {
    const frame = viewFrame();
    await frame.focus("main", { timeout: TIMEOUT_MS }).catch(() => {});
    await frame.evaluate(() => { document.body.tabIndex = -1; document.body.focus(); });
    const focused = [];
    for (const key of keys) {
      await page.keyboard.press(key);
      focused.push(await frame.evaluate(() => {
        const active = document.activeElement;
        return active ? { tag: active.tagName.toLowerCase(), id: active.id, text: active.textContent.trim() } : null;
      }));
    }
    return { focused, host: await page.evaluate(() => window.__host) };
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const command = JSON.parse(line);
    answer = { ok: true, ...(await commands[command.op](command)) };
  } catch (error) {
    answer = { ok: false, error: String(error && error.stack || error), record };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();
